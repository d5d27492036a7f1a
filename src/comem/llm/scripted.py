"""A deterministic stand-in `LLM` for tests: plays back a script and records what it was asked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from comem.core.records import Completion, Message
from comem.llm.base import LLMError

Response = str | Completion | BaseException | Callable[[list[Message]], str | Completion]


class ScriptedLLM:
    """Answers with `responses` in order. `delay_s` emulates latency so concurrent calls really overlap.

    An entry may be a string, a ready `Completion`, a callable that gets the messages, or an exception
    instance to raise (to test fallbacks when a model fails).
    """

    def __init__(
        self,
        responses: list[Response],
        model: str = "scripted",
        delay_s: float = 0.0,
        cycle: bool = False,
    ) -> None:
        self.responses = list(responses)
        self.model = model
        self.delay_s = delay_s
        self.cycle = cycle
        self.requests: list[list[Message]] = []
        self.grammars: list[str | None] = []  # the grammar each request carried
        self._next = 0

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        grammar: str | None = None,
    ) -> Completion:
        # Take the entry before sleeping, so overlapping calls get distinct entries in call order.
        self.requests.append(list(messages))
        self.grammars.append(grammar)
        if self._next >= len(self.responses) and not (self.cycle and self.responses):
            raise LLMError(f"ScriptedLLM ran out of responses after {len(self.responses)} calls")
        entry = self.responses[self._next % len(self.responses)]
        self._next += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if isinstance(entry, BaseException):
            raise entry
        if callable(entry):
            entry = entry(messages)
        if isinstance(entry, Completion):
            return entry
        return Completion(
            text=entry,
            finish_reason="stop",
            prompt_tokens=sum(len(m.content) for m in messages) // 4,
            completion_tokens=len(entry) // 4,
            ttft_s=self.delay_s,
            total_s=self.delay_s,
        )

    async def aclose(self) -> None:
        return None
