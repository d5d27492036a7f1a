"""Both wire protocols: a request's history as turns and steps, and the rewrite that replaces old turns."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comem.gateway.wire import AnthropicMessages, OpenAIChat
from comem.gateway.wire.base import BadRequest
from comem.gateway.wire.translate import TRANSLATIONS

OPENAI = {
    "model": "m", "temperature": 0.2, "some_future_field": {"kept": True},
    "tools": [{"type": "function", "function": {"name": "bash", "parameters": {}}}],
    "messages": [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": [{"type": "text", "text": "TASK"}]},
        {"role": "assistant", "content": "look", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}},
            {"id": "b", "type": "function", "function": {"name": "view", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "file.py"},
        {"role": "tool", "tool_call_id": "b", "content": "line 1"},
        {"role": "assistant", "content": "edit", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "bash", "arguments": '{"command": "sed"}'}}]},
        {"role": "tool", "tool_call_id": "c", "content": "done"},
        {"role": "user", "content": "also check tests"},
        {"role": "assistant", "content": "running", "tool_calls": [
            {"id": "d", "type": "function", "function": {"name": "bash", "arguments": '{"command": "pytest"}'}}]},
        {"role": "tool", "tool_call_id": "d", "content": "1 passed"},
    ],
}

ANTHROPIC = {
    "model": "m", "max_tokens": 10, "system": [{"type": "text", "text": "SYS", "cache_control": {"type": "ephemeral"}}],
    "metadata": {"user_id": "user_1_session_abc"},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "TASK", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                          {"type": "text", "text": "look"},
                                          {"type": "tool_use", "id": "a", "name": "bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "file.py"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "b", "name": "bash",
                                           "input": {"command": "sed"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "b",
                                      "content": [{"type": "text", "text": "done"}]},
                                     {"type": "text", "text": "also check tests"}]},
        {"role": "assistant", "content": "prefill"},
    ],
}


def test_openai_turns_are_steps() -> None:
    conv = OpenAIChat().conversation(OPENAI)
    assert (conv.system, conv.task, conv.head_end) == ("SYS", "TASK", 2)
    assert [(t.start, t.end, t.complete) for t in conv.turns] == [(2, 5, True), (5, 8, True), (8, 10, True)]
    first = conv.steps[0]
    assert first.action.name == "bash" and first.action.arguments == {"command": "ls"} and first.action.id == "a"
    assert "also called view" in first.thought and first.observation == "file.py\nline 1"
    assert conv.steps[1].observation == "done\nalso check tests"  # user text between turns belongs to the step


def test_anthropic_turns_are_steps_and_a_prefill_is_not() -> None:
    wire = AnthropicMessages()
    conv = wire.conversation(ANTHROPIC)
    assert (conv.system, conv.task, conv.head_end) == ("SYS", "TASK", 1)
    assert [t.complete for t in conv.turns] == [True, True, False]
    assert len(conv.steps) == 2 and conv.steps[0].thought == "look" and conv.steps[0].action.id == "a"
    assert conv.steps[1].observation == "done\nalso check tests"
    assert wire.client_session(ANTHROPIC) == "user_1_session_abc"


@pytest.mark.parametrize("wire, body", [(OpenAIChat(), OPENAI), (AnthropicMessages(), ANTHROPIC)])
def test_rewrite_keeps_everything_but_the_summarised_turns(wire, body) -> None:
    original = copy.deepcopy(body)
    conv = wire.conversation(body)
    out = wire.rewrite(body, conv, "\n<memory_summary>S</memory_summary>", raw_from=1)
    assert body == original  # the request itself is not mutated
    head = conv.head_end
    assert out["messages"][:head - 1] == body["messages"][:head - 1]
    assert out["messages"][head:] == body["messages"][conv.turns[1].start:]  # raw turns verbatim, ids and all
    task = out["messages"][head - 1]["content"]
    assert task[:-1] == body["messages"][head - 1]["content"]  # the pinned parts (and cache_control) as they were
    assert task[-1] == {"type": "text", "text": "\n<memory_summary>S</memory_summary>"}
    assert {k: v for k, v in out.items() if k != "messages"} == {k: v for k, v in body.items() if k != "messages"}


def test_rewrite_of_a_string_task_appends_text() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "TASK"},
                                       {"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]}
    wire = OpenAIChat()
    out = wire.rewrite(body, wire.conversation(body), " + S", raw_from=1)
    assert out["messages"] == [{"role": "user", "content": "TASK + S"}]


def test_fingerprints_ignore_cache_markers_but_not_content() -> None:
    wire = AnthropicMessages()
    moved = copy.deepcopy(ANTHROPIC)
    moved["messages"][2]["content"][0]["cache_control"] = {"type": "ephemeral"}  # clients move their breakpoints
    edited = copy.deepcopy(ANTHROPIC)
    edited["messages"][2]["content"][0]["content"] = "other.py"
    base = [t.fingerprint for t in wire.conversation(ANTHROPIC).turns]
    assert [t.fingerprint for t in wire.conversation(moved).turns] == base
    assert [t.fingerprint for t in wire.conversation(edited).turns][0] != base[0]


@pytest.mark.parametrize("body", [{}, {"messages": []}, {"messages": "hi"}, {"messages": [{"content": "x"}]},
                                  {"messages": [None]}])
def test_bad_bodies_are_bad_requests(body) -> None:
    for wire in (OpenAIChat(), AnthropicMessages()):
        with pytest.raises(BadRequest):
            wire.conversation(body)


def test_a_conversation_without_a_user_message_has_no_head() -> None:
    conv = OpenAIChat().conversation({"messages": [{"role": "system", "content": "S"},
                                                   {"role": "assistant", "content": "hi"}]})
    assert conv.head_end == 0 and len(conv.turns) == 1 and not conv.turns[0].complete


def test_a_reply_without_its_assistant_message_is_a_turn_of_its_own() -> None:
    """mini-swe-agent drops a reply it cannot parse and sends only its note: earlier turns must not change."""
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "TASK"},
                {"role": "user", "content": "format error 1"},
                {"role": "assistant", "content": "ls"}, {"role": "user", "content": "a.py"},
                {"role": "user", "content": "format error 2"}]
    wire = OpenAIChat()
    conv = wire.conversation({"messages": messages})
    assert conv.task == "TASK" and [(t.start, t.end) for t in conv.turns] == [(2, 3), (3, 5), (5, 6)]
    assert conv.steps[0].response == "" and conv.steps[0].observation == "format error 1"
    longer = wire.conversation({"messages": [*messages, {"role": "user", "content": "format error 3"}]})
    assert [t.fingerprint for t in longer.turns][:3] == [t.fingerprint for t in conv.turns]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
ROLE = st.sampled_from(["system", "developer", "user", "assistant", "tool", "other"])
MESSAGE = st.fixed_dictionaries({"role": ROLE}, optional={
    "content": JSON | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "tool_use", "tool_result",
                                                                                "image"])}, optional={
        "text": JSON, "input": JSON, "content": JSON, "id": JSON, "name": JSON, "source": JSON}), max_size=3),
    "tool_calls": JSON | st.lists(st.fixed_dictionaries({}, optional={
        "id": JSON, "function": JSON | st.fixed_dictionaries({}, optional={"name": JSON, "arguments": JSON})}),
        max_size=2),
    "tool_call_id": JSON})


@settings(max_examples=300, deadline=None)
@given(body=st.fixed_dictionaries({"messages": st.lists(MESSAGE, max_size=6) | JSON},
                                  optional={"system": JSON, "tools": JSON, "model": JSON, "metadata": JSON}))
def test_any_body_is_a_conversation_or_a_bad_request(body) -> None:
    """Whatever a client sends, parsing and rewriting end in a conversation or one BadRequest, never a crash."""
    for wire in (OpenAIChat(), AnthropicMessages()):
        try:
            conv = wire.conversation(body)
        except BadRequest:
            continue
        if conv.head_end:
            wire.rewrite(body, conv, "S", raw_from=len(conv.steps))
        wire.client_session(body)
        translation = TRANSLATIONS[(wire.name, "anthropic" if wire.name == "openai" else "openai")]
        json.dumps(translation.request(body))  # and any such request crosses to the other protocol
