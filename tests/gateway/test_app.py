"""The gateway through the official `openai` and `anthropic` SDKs, streaming and not, with tool calls, in front of
a loopback upstream: what the upstream received is checked request by request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import echo_summary
from tests.extras import requires
from tests.gateway.agents import anthropic_agent, openai_agent, tool_reply
from tests.gateway.helpers import ChatUpstream, config, running_gateway


def first_user_text(body: dict[str, Any], protocol: str) -> str:
    content = body["messages"][0 if protocol == "anthropic" else 1]["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def check_pairs(body: dict[str, Any], protocol: str) -> None:
    """Every tool result answers a tool call of the message just before it, and roles alternate after the head."""
    messages = body["messages"]
    if protocol == "openai":
        for i, m in enumerate(messages):
            if m["role"] == "tool":
                j = i - 1
                while messages[j]["role"] == "tool":
                    j -= 1
                assert m["tool_call_id"] in {c["id"] for c in messages[j]["tool_calls"]}
    else:
        for prev, m in zip(messages, messages[1:], strict=False):
            assert prev["role"] != m["role"]
            for block in m["content"] if isinstance(m["content"], list) else []:
                if block.get("type") == "tool_result":
                    assert block["tool_use_id"] in {b["id"] for b in prev["content"] if b["type"] == "tool_use"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_sdk_agent_gets_summaries_and_intact_tool_pairs(tmp_path: Path, protocol: str, stream: bool) -> None:
    sdk = requires(protocol)
    memory = ScriptedLLM([echo_summary], cycle=True)
    with ChatUpstream(tool_reply) as upstream, running_gateway(config(tmp_path), upstream.url, memory) as (url, gw):
        if protocol == "openai":
            history = openai_agent(sdk.OpenAI(base_url=url, api_key="client-key"), 8, stream=stream)
        else:
            history = anthropic_agent(sdk.Anthropic(base_url=url.removesuffix("/v1"), api_key="client-key"), 8,
                                      stream=stream)
        bodies = upstream.bodies(protocol)
    assert len(bodies) == 8 and len(history) == (2 + 16 if protocol == "openai" else 1 + 16)
    for body in bodies:
        check_pairs(body, protocol)
    rewritten = [b for b in bodies if "<memory_summary" in first_user_text(b, protocol)]
    assert rewritten, "no request carried a summary"
    assert all("summary-of[" in first_user_text(b, protocol) for b in rewritten)
    # the upstream saw bounded prompts: the last request is much shorter than the history the client sent
    assert len(bodies[-1]["messages"]) < len(history) - 4
    assert bodies[0]["tools"] and all(b["tools"] == bodies[0]["tools"] for b in bodies)  # tools never touched
    if protocol == "anthropic":  # cache_control on the pinned first message is kept
        assert all(b["messages"][0]["content"][0].get("cache_control") == {"type": "ephemeral"} for b in bodies)
    headers = [{k.lower(): v for k, v in r.headers.items()} for r in upstream.seen if r.method == "POST"]
    assert all("client-key" in h.get("authorization", "") + h.get("x-api-key", "") for h in headers)


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_keep_calls_sends_every_call_with_old_results_masked(tmp_path: Path, protocol: str) -> None:
    """`keep_calls` through the gateway: the upstream gets every assistant turn the client sent, the results of
    the summarised turns as placeholders (ids kept, so every call is still answered), the memory after the last
    of them, and the task message untouched."""
    sdk = requires(protocol)
    memory = ScriptedLLM([echo_summary], cycle=True)
    cfg = config(tmp_path, arm={"name": "kso", "k": 2, "keep_calls": True})
    with ChatUpstream(tool_reply) as upstream, running_gateway(cfg, upstream.url, memory) as (url, gw):
        if protocol == "openai":
            openai_agent(sdk.OpenAI(base_url=url, api_key="k"), 8, stream=False)
        else:
            anthropic_agent(sdk.Anthropic(base_url=url.removesuffix("/v1"), api_key="k"), 8, stream=False)
        bodies = upstream.bodies(protocol)
    assert len(bodies) == 8
    rewritten = 0
    for n, body in enumerate(bodies):
        check_pairs(body, protocol)
        assert first_user_text(body, protocol) == "TASK"  # never rewritten
        messages = body["messages"]
        assert sum(m["role"] == "assistant" for m in messages) == n  # every call the client made
        results = [m for m in messages if m["role"] in ("tool", "user")][1:]  # after the task
        texts = [m["content"] if isinstance(m["content"], str) else
                 "".join(b["content"] if b["type"] == "tool_result" else b["text"] for b in m["content"])
                 for m in results]
        masked = [t for t in texts if t.startswith("[Output of step")]
        if masked:
            rewritten += 1
            assert texts[:len(masked)] == masked and all(t.startswith("output-") for t in texts[len(masked):])
            assert "<memory_summary" in masked[-1] and "summary-of[" in masked[-1]
            assert all("<memory_summary" not in t for t in masked[:-1])
    assert rewritten >= 4
