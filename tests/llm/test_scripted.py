"""ScriptedLLM: the deterministic model other components test against."""

from __future__ import annotations

import asyncio

import pytest

from comem.core.records import Completion, Message
from comem.llm.base import LLM, LLMError
from comem.llm.scripted import ScriptedLLM


def _ask(llm: ScriptedLLM, text: str = "hello there") -> Completion:
    return asyncio.run(llm.chat([Message(role="user", content=text)], max_tokens=8))


def test_plays_script_in_order_and_records_requests() -> None:
    ready = Completion(text="ready", prompt_tokens=99)
    llm = ScriptedLLM(["first", ready, lambda msgs: f"echo {msgs[-1].content}"])
    first = _ask(llm, "x" * 40)
    assert (first.text, first.prompt_tokens, first.completion_tokens) == ("first", 10, 1)
    assert _ask(llm) is ready
    assert _ask(llm, "ping").text == "echo ping"
    assert [r[-1].content for r in llm.requests] == ["x" * 40, "hello there", "ping"]
    with pytest.raises(LLMError, match="ran out"):
        _ask(llm)


def test_cycle_and_raised_exceptions() -> None:
    llm = ScriptedLLM(["a", LLMError("memory down")], cycle=True)
    assert _ask(llm).text == "a"
    with pytest.raises(LLMError, match="memory down"):
        _ask(llm)
    assert _ask(llm).text == "a"


def test_delay_lets_concurrent_calls_overlap() -> None:
    llm: LLM = ScriptedLLM(["one", "two"], delay_s=0.3)

    async def both() -> tuple[int, list[Completion]]:
        msgs = [Message(role="user", content="q")]
        calls = [asyncio.ensure_future(llm.chat(msgs, max_tokens=4)) for _ in range(2)]
        await asyncio.sleep(0)  # each call starts and reaches its delay
        waiting = 0 if any(c.done() for c in calls) else len(llm.requests)
        return waiting, [await c for c in calls]

    waiting, outs = asyncio.run(both())
    assert waiting == 2  # both calls were in their delay at once: they overlap instead of queueing
    assert [o.text for o in outs] == ["one", "two"]
    assert outs[0].ttft_s == outs[0].total_s == 0.3
