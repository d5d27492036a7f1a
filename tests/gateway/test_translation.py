"""Protocol translation: an Anthropic client in front of an OpenAI-only upstream and the reverse, through the
official SDKs (streamed and not, with tool calls); the upstream sees only its own protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.gateway.wire.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream, sse_events
from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import echo_summary
from tests.extras import requires
from tests.gateway.agents import anthropic_agent, openai_agent, tool_reply
from tests.gateway.helpers import ChatUpstream, _anthropic, _openai, config, running_gateway


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("client, upstream_protocol", [("anthropic", "openai"), ("openai", "anthropic")])
def test_sdk_agent_through_a_translating_gateway(tmp_path: Path, client: str, upstream_protocol: str,
                                                 stream: bool) -> None:
    sdk = requires(client)
    cfg = config(tmp_path, upstream={"protocol": upstream_protocol})
    with ChatUpstream(tool_reply) as upstream, \
            running_gateway(cfg, upstream.url, ScriptedLLM([echo_summary], cycle=True)) as (url, _):
        if client == "openai":
            history = openai_agent(sdk.OpenAI(base_url=url, api_key="k"), 6, stream=stream)
        else:
            history = anthropic_agent(sdk.Anthropic(base_url=url.removesuffix("/v1"), api_key="k"), 6,
                                      stream=stream)
        paths = {r.path for r in upstream.seen}
        bodies = upstream.bodies()
    assert paths == {"/v1/messages" if upstream_protocol == "anthropic" else "/v1/chat/completions"}
    assert len(bodies) == 6 and len(history) > 12
    commands = [json.dumps(b) for b in bodies]
    assert all("echo" in c for c in commands[1:])  # earlier tool calls crossed in the upstream's own shape
    assert any("summary-of[" in c for c in commands)  # and the summary with them
    if upstream_protocol == "openai":
        assert all(b["messages"][0] == {"role": "system", "content": "You are a test agent."} for b in bodies)
        assert any(m["role"] == "tool" for m in bodies[-1]["messages"])
    else:
        assert all(b["system"] == "You are a test agent." and b["max_tokens"] > 0 for b in bodies)
        assert any(blk.get("type") == "tool_result" for m in bodies[-1]["messages"] for blk in m["content"])


def chunks(body: bytes, size: int = 7) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("answer", ["hello there", ("tool", "bash", {"command": "ls -la"})])
def test_streams_convert_whatever_the_chunking(answer) -> None:
    to_anthropic = OpenAIToAnthropicStream()
    out = b"".join(to_anthropic.feed(c) for c in chunks(_openai(answer, True, "m").body)) + to_anthropic.end()
    events = sse_events(bytearray(), out)
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    to_openai = AnthropicToOpenAIStream()
    back = b"".join(to_openai.feed(c) for c in chunks(_anthropic(answer, True, "m").body)) + to_openai.end()
    assert back.endswith(b"data: [DONE]\n\n")
    deltas = [c["choices"][0]["delta"] for c in sse_events(bytearray(), back) if c.get("choices")]
    if isinstance(answer, str):
        assert "".join(d.get("content", "") for d in deltas) == answer
        assert "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta") == answer
    else:
        arguments = "".join(tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls", []))
        assert json.loads(arguments) == answer[2]
        partial = "".join(e["delta"].get("partial_json", "") for e in events if e["type"] == "content_block_delta")
        assert json.loads(partial) == answer[2]


def test_upstream_errors_come_back_in_the_clients_shape(tmp_path: Path) -> None:
    import httpx

    cfg = config(tmp_path, upstream={"protocol": "openai"})
    with ChatUpstream(lambda body, protocol: 400) as upstream, \
            running_gateway(cfg, upstream.url, ScriptedLLM(["s"])) as (url, _):
        answer = httpx.post(url + "/messages", json={"model": "m", "max_tokens": 5,
                                                     "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 400
    assert answer.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                        "message": "upstream says no"}}
