"""The memory model shared by every session: a bounded number of calls run, a bounded number wait, more fail.

A failed call is what a memory strategy already handles (the agent keeps the previous summary), so a flood of
sessions slows summaries down or skips them; it never fails or blocks a request beyond the strategy's late policy.
"""

from __future__ import annotations

import asyncio
from typing import Any

from comem.core.records import Completion, Message
from comem.llm.base import LLM, LLMError


class MemoryPool:
    """An `LLM` in front of the memory model: `concurrency` calls in flight, at most `queue` more waiting."""

    def __init__(self, llm: LLM, concurrency: int, queue: int) -> None:
        self.llm, self.queue = llm, queue
        self.model = llm.model
        self._slots = asyncio.Semaphore(concurrency)
        self.waiting = self.running = self.rejected = self.peak = 0

    @property
    def depth(self) -> int:
        return self.waiting + self.running

    async def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        if self.waiting >= self.queue and self._slots.locked():
            self.rejected += 1
            raise LLMError(f"memory queue full ({self.queue} waiting): summary skipped")
        self.waiting += 1
        self.peak = max(self.peak, self.depth)
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await self.llm.chat(messages, **kwargs)
        finally:
            self.running -= 1
            self._slots.release()

    async def aclose(self) -> None:
        await self.llm.aclose()
