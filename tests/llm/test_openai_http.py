"""OpenAIChatClient against a scripted stand-in server: streaming, retries, errors, tool calls, usage."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from comem.core.errors import ComemError
from comem.core.records import Completion, Message, ToolCall
from comem.llm.base import LLMError
from comem.llm.openai_http import OpenAIChatClient, normalise_base_url, parse_arguments
from tests.standin import Reply, delta, error_json, sse


def _chat(client: OpenAIChatClient, messages: list[Message] | None = None, **kw: Any) -> Completion:
    async def go() -> Completion:
        try:
            return await client.chat(messages or [Message(role="user", content="hi")], max_tokens=16, **kw)
        finally:
            await client.aclose()

    return asyncio.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USAGE = {
    "choices": [],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 7}},
}


def test_streams_text_usage_and_timing(stub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = stub(Reply(body=sse(delta(role="assistant"), delta("Hel"), delta("lo"), delta(finish="stop"), USAGE)))
    out = _chat(OpenAIChatClient(server.url, "m1"))
    assert out.text == "Hello"
    assert out.finish_reason == "stop"
    assert (out.prompt_tokens, out.completion_tokens, out.cached_tokens) == (12, 3, 7)
    assert 0 < out.ttft_s <= out.total_s
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer EMPTY"
    body = req["json"]
    assert body["model"] == "m1" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.0 and body["max_tokens"] == 16
    assert "tools" not in body and "response_format" not in body


def test_api_key_from_env_and_passthrough_fields(stub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    server = stub(Reply(body=sse(delta("{}"))))
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    fmt = {"type": "json_object"}
    _chat(OpenAIChatClient(server.url + "/v1/", "m"), tools=tools, response_format=fmt)
    req = server.requests[0]
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["json"]["tools"] == tools and req["json"]["response_format"] == fmt


def test_extra_body_goes_with_every_request(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("ok"))))
    _chat(OpenAIChatClient(server.url, "m", extra_body={"ignore_eos": True, "cache_prompt": False}))
    body = server.requests[0]["json"]
    assert body["ignore_eos"] is True and body["cache_prompt"] is False and body["model"] == "m"


def test_messages_serialise_to_openai_shape(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("ok"))))
    messages = [
        Message(role="system", content="sys"),
        Message(role="user", content="run ls"),
        Message(role="assistant", content="", tool_calls=[ToolCall(name="bash", arguments={"cmd": "ls"}, id="c1")]),
        Message(role="tool", content="a.py", tool_call_id="c1"),
    ]
    _chat(OpenAIChatClient(server.url, "m"), messages)
    sent = server.requests[0]["json"]["messages"]
    assert sent[0] == {"role": "system", "content": "sys"}
    assert sent[2]["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"cmd": "ls"}'}}
    ]
    assert sent[3] == {"role": "tool", "content": "a.py", "tool_call_id": "c1"}


def test_streamed_tool_call_fragments_are_assembled(stub: Any) -> None:
    def frag(index: int, **fields: Any) -> dict[str, Any]:
        return delta(tool_calls=[{"index": index, **fields}])

    server = stub(
        Reply(
            body=sse(
                frag(0, id="call_a", type="function", function={"name": "bash", "arguments": ""}),
                frag(1, id="call_b", type="function", function={"name": "edit", "arguments": '{"pa'}),
                frag(0, function={"arguments": '{"cmd": '}),
                frag(0, function={"arguments": '"ls -la"}'}),
                frag(1, function={"arguments": "th: oops"}),
                delta(finish="tool_calls"),
            )
        )
    )
    out = _chat(OpenAIChatClient(server.url, "m"))
    assert out.finish_reason == "tool_calls"
    assert out.tool_calls == [
        ToolCall(name="bash", arguments={"cmd": "ls -la"}, id="call_a"),
        ToolCall(name="edit", arguments={"_raw": '{"path: oops'}, id="call_b"),
    ]
    assert out.ttft_s > 0


def test_no_usage_leaves_counts_zero(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("x"), delta(finish="stop"))))
    out = _chat(OpenAIChatClient(server.url, "m"))
    assert (out.prompt_tokens, out.completion_tokens, out.cached_tokens) == (0, 0, None)


def test_llamacpp_timings_cache_n_fills_cached_tokens(stub: Any) -> None:
    final = {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 2}, "timings": {"cache_n": 31}}
    server = stub(Reply(body=sse(delta("x"), final)))
    assert _chat(OpenAIChatClient(server.url, "m")).cached_tokens == 31


def test_non_streaming_json_answer_is_accepted(stub: Any) -> None:
    body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "plain"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
    }
    server = stub(Reply(body=json.dumps(body).encode(), content_type="application/json"))
    out = _chat(OpenAIChatClient(server.url, "m"))
    assert (out.text, out.prompt_tokens, out.finish_reason) == ("plain", 5, "stop")


def test_5xx_and_429_are_retried(stub: Any) -> None:
    server = stub(
        error_json(500, "boom"),
        Reply(status=429, body=b"slow down", content_type="text/plain", headers={"Retry-After": "0"}),
        Reply(body=sse(delta("ok"))),
    )
    out = _chat(OpenAIChatClient(server.url, "m", max_retries=3, backoff_s=0.01))
    assert out.text == "ok"
    assert len(server.requests) == 3


def test_4xx_fails_at_once_with_the_server_message(stub: Any) -> None:
    server = stub(error_json(400, "the request exceeds the available context size"))
    with pytest.raises(LLMError, match="HTTP 400: the request exceeds the available context size"):
        _chat(OpenAIChatClient(server.url, "m", max_retries=3, backoff_s=0.01))
    assert len(server.requests) == 1


def test_persistent_5xx_gives_up_after_retries(stub: Any) -> None:
    server = stub(error_json(503, "Loading model"))
    with pytest.raises(LLMError, match="failed after 3 attempts.*Loading model"):
        _chat(OpenAIChatClient(server.url, "m", max_retries=2, backoff_s=0.01))
    assert len(server.requests) == 3


def test_unreachable_server_names_the_url_and_the_fix() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(LLMError) as info:
        _chat(OpenAIChatClient(url, "m", max_retries=2, backoff_s=0.01))
    message = str(info.value)
    assert f"{url}/v1/chat/completions" in message
    assert "--agent-url" in message and "3 attempts" in message


def test_slow_server_times_out_per_request(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("late")), delay_s=1.0))  # answers, but only after the client's timeout
    with pytest.raises(LLMError, match=r"failed after 2 attempts \((TimeoutError|ReadTimeout)"):
        _chat(OpenAIChatClient(server.url, "m", timeout_s=0.2, max_retries=1, backoff_s=0.01))
    assert len(server.requests) == 2  # each attempt reached the server and was given up on


def test_error_event_inside_the_stream_raises(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("par"), {"error": {"message": "slot crashed"}})))
    with pytest.raises(LLMError, match="slot crashed"):
        _chat(OpenAIChatClient(server.url, "m"))


def test_one_client_survives_separate_event_loops(stub: Any) -> None:
    server = stub(Reply(body=sse(delta("a"))))
    client = OpenAIChatClient(server.url, "m")
    for _ in range(2):
        out = asyncio.run(client.chat([Message(role="user", content="hi")], max_tokens=4))
        assert out.text == "a"
    asyncio.run(client.aclose())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:1", "http://h:1/v1"),
        ("http://h:1/v1", "http://h:1/v1"),
        ("http://h:1/v1/", "http://h:1/v1"),
        ("h:1", "http://h:1/v1"),
        ("https://api.example.com/api/v1", "https://api.example.com/api/v1"),
    ],
)
def test_base_url_normalisation(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


def test_health_ok_and_http_error(stub: Any) -> None:
    ok = stub(Reply(body=b'{"data": []}', content_type="application/json"))
    asyncio.run(OpenAIChatClient(ok.url, "m").health())
    assert ok.requests[0]["path"] == "/v1/models"
    denied = stub(error_json(401, "invalid api key"))
    with pytest.raises(ComemError, match="invalid api key") as info:
        asyncio.run(OpenAIChatClient(denied.url, "m").health())
    assert "OPENAI_API_KEY" in info.value.fix


def test_health_unreachable_is_a_comem_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ComemError, match="cannot reach") as info:
        asyncio.run(OpenAIChatClient(url, "m").health())
    assert "--agent-url" in info.value.fix


def test_parse_arguments() -> None:
    assert parse_arguments("") == {}
    assert parse_arguments('{"a": 1}') == {"a": 1}
    assert parse_arguments("[1]") == {"_raw": "[1]"}
    assert parse_arguments("{bad") == {"_raw": "{bad"}


def test_arguments_and_text_no_json_reader_can_hold_still_give_a_completion(stub: Any) -> None:
    """A 5000-digit number or 5000-deep nesting in native tool-call arguments, and an unpaired surrogate escape in the
    text, used to raise out of chat() (ValueError, RecursionError) or out of the trajectory writer later."""
    huge, deep = '{"insert_line": ' + "9" * 5000 + "}", '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    calls = [{"index": i, "id": f"c{i}", "type": "function", "function": {"name": "file_editor", "arguments": raw}}
             for i, raw in enumerate([huge, deep])]
    text = json.dumps({"choices": [{"delta": {"content": "half an emoji: \ud83d."}}]})
    server = stub(Reply(body=b"data: " + text.encode() + b"\n\n" + sse(delta(tool_calls=calls), delta(finish="stop"))))
    out = _chat(OpenAIChatClient(server.url, "m"))
    assert [call.arguments for call in out.tool_calls] == [{"_raw": huge}, {"_raw": deep}]
    assert out.text.startswith("half an emoji: ") and out.text.encode("utf-8")
