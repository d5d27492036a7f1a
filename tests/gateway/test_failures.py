"""What a client gets when something is wrong: always an answer in its protocol's shape with a telling status,
never a 200 with an empty body, never a traceback; bad input is refused before anything reaches the upstream."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from comem.gateway.config import GatewayConfig
from comem.llm.scripted import ScriptedLLM
from tests.gateway.helpers import ChatUpstream, config, running_gateway
from tests.standin import LoopbackServer, Reply

MEMORY = ScriptedLLM(["a summary"], cycle=True)
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def post(url: str, path: str, body: object, **kw) -> httpx.Response:
    return httpx.post(url + path, content=json.dumps(body) if not isinstance(body, bytes) else body, timeout=30,
                      **kw)


def test_small_requests_pass_through_byte_for_byte(tmp_path: Path) -> None:
    raw = b'{ "model":"m",  "messages":[{"role":"user","content":"caf\\u00e9"}], "x_unknown": [1, 2.50] }'
    with ChatUpstream() as upstream, running_gateway(config(tmp_path, min_tokens=4000), upstream.url, MEMORY) as (
            url, _):
        answer = post(url, "/chat/completions", raw)
        answer_anthropic = post(url, "/messages", raw)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "ok"
    assert answer_anthropic.status_code == 200 and answer_anthropic.json()["content"][0]["text"] == "ok"
    assert [r.body for r in upstream.seen] == [raw, raw]


@pytest.mark.parametrize("path, shape", [("/chat/completions", "error"), ("/messages", "type")])
def test_upstream_errors_keep_their_status_and_shape(tmp_path: Path, path: str, shape: str) -> None:
    with ChatUpstream(lambda body, protocol: 422) as upstream, \
            running_gateway(config(tmp_path), upstream.url, MEMORY) as (url, _):
        answer = post(url, path, CHAT)
    assert answer.status_code == 422 and shape in answer.json()


@pytest.mark.parametrize("path", ["/chat/completions", "/messages"])
def test_unreachable_upstream_is_a_502_in_the_protocol_shape(tmp_path: Path, path: str) -> None:
    gone = LoopbackServer(lambda request: Reply())
    dead_url = gone.url + "/v1"
    gone.close()
    with running_gateway(config(tmp_path), dead_url, MEMORY) as (url, _):
        answer = post(url, path, CHAT)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert "could not be reached" in error["message"]


def test_an_empty_200_from_upstream_is_not_passed_on(tmp_path: Path) -> None:
    with LoopbackServer(lambda request: Reply(body=b"", content_type="application/json")) as empty, \
            running_gateway(config(tmp_path), empty.url + "/v1", MEMORY) as (url, _):
        answer = post(url, "/chat/completions", CHAT)
    assert answer.status_code == 502 and "no valid body" in answer.json()["error"]["message"]


@pytest.mark.parametrize("body, needle", [(b"{not json", "not a valid openai request"),
                                          ([1, 2], "JSON object"), ({"messages": []}, "non-empty list")])
def test_bad_requests_are_400_and_never_reach_upstream(tmp_path: Path, body: object, needle: str) -> None:
    with ChatUpstream() as upstream, running_gateway(config(tmp_path), upstream.url, MEMORY) as (url, _):
        answer = post(url, "/chat/completions", body)
    assert answer.status_code == 400 and needle in answer.json()["error"]["message"]
    assert upstream.seen == []


def test_body_size_cap_is_a_413(tmp_path: Path) -> None:
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}
    with ChatUpstream() as upstream, running_gateway(config(tmp_path, max_body_bytes=4096), upstream.url,
                                                     MEMORY) as (url, _):
        answer = post(url, "/messages", big)
    assert answer.status_code == 413 and answer.json()["error"]["type"] == "request_too_large"
    assert "--max-body-bytes" in answer.json()["error"]["message"] and upstream.seen == []


def test_gateway_key_is_checked_everywhere_and_never_forwarded(tmp_path: Path) -> None:
    cfg = config(tmp_path, api_key="gw-secret", upstream={"api_key": "up-secret"})
    with ChatUpstream() as upstream, running_gateway(cfg, upstream.url, MEMORY) as (url, _):
        refused = [post(url, "/chat/completions", CHAT), post(url, "/messages", CHAT,
                                                               headers={"x-api-key": "wrong"}),
                   httpx.get(url + "/models"), httpx.get(url.removesuffix("/v1") + "/metrics")]
        ok = post(url, "/chat/completions", CHAT, headers={"authorization": "Bearer gw-secret"})
        ok_anthropic = post(url, "/messages", CHAT, headers={"x-api-key": "gw-secret"})
        metrics = httpx.get(url.removesuffix("/v1") + "/metrics", headers={"x-api-key": "gw-secret"}).text
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert refused[1].json()["type"] == "error"  # the Anthropic route answers in the Anthropic shape
    assert ok.status_code == 200 and ok_anthropic.status_code == 200
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in upstream.seen]
    assert all(h["authorization"] == "Bearer up-secret" and h["x-api-key"] == "up-secret" for h in sent)
    assert "gw-secret" not in metrics and "up-secret" not in metrics
    records = "".join(p.read_text() for p in (tmp_path / "gw").rglob("*.jsonl"))
    assert "secret" not in records


def test_binding_off_loopback_needs_a_key() -> None:
    with pytest.raises(ValidationError, match="needs an api_key"):
        GatewayConfig(host="0.0.0.0")
    assert GatewayConfig(host="0.0.0.0", api_key="k").host == "0.0.0.0"
    with pytest.raises(ValidationError, match="kso strategy"):
        GatewayConfig(arm="full")
    with pytest.raises(ValidationError, match="did you mean 'min_tokens'"):
        GatewayConfig.model_validate({"min_token": 3})
    with pytest.raises(ValidationError, match="give the memory model's URL"):  # `agent` is the embedded engine
        GatewayConfig.model_validate({"upstream": {"url": "http://127.0.0.1:9/v1"}, "memory": {"model": "agent"}})
    assert GatewayConfig.model_validate({"memory": {"model": "agent"}}).memory.model == "agent"


def test_client_leaving_a_stream_cancels_the_upstream_request(tmp_path: Path) -> None:
    stopped = threading.Event()

    def slow_stream():
        try:
            for i in range(200):
                yield f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': str(i)}}]})}\n\n".encode()
                time.sleep(0.05)
        finally:
            stopped.set()

    with LoopbackServer(lambda request: Reply(body=slow_stream)) as upstream, \
            running_gateway(config(tmp_path), upstream.url + "/v1", MEMORY) as (url, gateway):
        with httpx.stream("POST", url + "/chat/completions", json={**CHAT, "stream": True}, timeout=30) as answer:
            first = next(answer.iter_bytes())
        assert first.startswith(b"data:")
        assert stopped.wait(10), "the upstream kept streaming to a client that had left"
        sent = upstream.sent["/v1/chat/completions"]
        time.sleep(0.3)
        assert upstream.sent["/v1/chat/completions"] == sent < 200 * 40
        cancelled = gateway.metrics.cancelled._value.get()
    assert cancelled == 1


def test_a_failing_memory_model_never_fails_a_request(tmp_path: Path) -> None:
    from comem.llm.base import LLMError
    from tests.gateway.agents import tool_reply

    broken = ScriptedLLM([LLMError("memory server down")], cycle=True)
    body = {"model": "m", "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "T"}]}
    with ChatUpstream(tool_reply) as upstream, running_gateway(config(tmp_path), upstream.url, broken) as (url, gw):
        for i in range(6):
            answer = post(url, "/chat/completions", body)
            assert answer.status_code == 200
            call = answer.json()["choices"][0]["message"]["tool_calls"][0]
            call["id"] = f"c{i}"
            body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                                 {"role": "tool", "tool_call_id": f"c{i}", "content": f"out {i}"}]
        failed = gw.metrics.memory_updates.labels("error")._value.get()
    assert failed >= 2
    assert all(len(b["messages"]) == 2 + 2 * i for i, b in enumerate(upstream.bodies()))  # full history, no summary


def test_a_bundled_memory_adapter_brings_its_summary_budget_unless_the_arm_sets_one() -> None:
    from comem.llm.models import ADAPTERS

    adapter = ADAPTERS["comem-memory-135m"]
    assert GatewayConfig.model_validate({"memory": {"model": adapter.name}}).arm.memory_max_tokens == \
        adapter.summary_tokens
    own = {"memory": {"model": adapter.name}, "arm": {"name": "kso", "memory_max_tokens": 64}}
    assert GatewayConfig.model_validate(own).arm.memory_max_tokens == 64
    assert GatewayConfig().arm.memory_max_tokens != adapter.summary_tokens  # other memory models: the default
