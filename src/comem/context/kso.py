"""`kso`: CoMem's k-step-off asynchronous memory (METHOD §5.2).

At iteration n: (1) collect the summary launched at an earlier iteration — waiting for it (`wait`, the paper's
policy) or, with `stale`, for at most `max_wait_s` before acting on the previous summary; (2) if n > 0 and
(n + 1) % k == 0 (or the context estimate passed `trigger_tokens`), launch a summary of steps [0, n) in the
background; (3) the agent acts on summary(0..L-1) + raw steps L..n-1 while the memory model works.
With k = 2 launches happen at n = 1, 3, 5, … and the raw window cycles 1, 2. A failed or timed-out summary
never ends the episode: the previous summary stays installed and more raw steps are shown.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from pydantic import Field

from comem.agent.trajectory import MemoryRecord, Step
from comem.context.base import AgentContext, register
from comem.context.memory import MemorySettings, MemoryStrategy


def launch_due(n: int, k: int | None) -> bool:
    """The k-step-off schedule (METHOD §5.2): launch at iteration n when n > 0 and (n + 1) % k == 0."""
    return k is not None and n > 0 and (n + 1) % k == 0


class KsoConfig(MemorySettings):
    name: Literal["kso"] = "kso"
    late_policy: Literal["wait", "stale"] = "wait"
    max_wait_s: float = Field(default=0.0, ge=0.0)  # with `stale`: how long to wait before going on without it


@register(KsoConfig)
class KStepOffMemory(MemoryStrategy):
    name = "kso"
    config: KsoConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending: tuple[MemoryRecord, asyncio.Task[MemoryRecord]] | None = None
        self.last_launch = 0

    async def collect(self, n: int) -> float:
        """Step (1): wait for the in-flight summary per the late policy; install it if it arrived."""
        if self.pending is None:
            return 0.0
        record, task = self.pending
        timeout = None if self.config.late_policy == "wait" else self.config.max_wait_s
        t = self.clock.now()
        if not task.done():
            await asyncio.wait({task}, timeout=timeout)
        waited = self.clock.now() - t
        if not task.done():  # stale: go on with the previous summary, keep this one in flight
            record.exposed_wait_s += waited
            return waited
        self.pending = None
        self.settle(record, n, waited)
        return waited

    def should_launch(self, steps: list[Step], n: int) -> bool:
        if self.pending is not None or n <= self.last_launch:
            return False
        return launch_due(n, self.config.k) or self.over_token_budget(steps)

    async def context(self, steps: list[Step]) -> AgentContext:
        n = len(steps)
        waited = await self.collect(n)
        if self.should_launch(steps, n):
            self.pending = self.launch(steps, end=n, n=n)
            self.last_launch = n
        return self.render(steps, waited)

    async def close(self) -> None:
        """Episode over: an update still in flight is cancelled and logged as superseded."""
        if self.pending is None:
            return
        record, task = self.pending
        self.pending = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        record.status, record.finished_s = "superseded", record.finished_s or self.clock.now()
        self.on_memory(record)
