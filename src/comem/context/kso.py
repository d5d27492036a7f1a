"""`kso`: CoMem's k-step-off asynchronous memory (docs/method.md §4).

At iteration n: (1) collect the summary launched at an earlier iteration (see the late policies below);
(2) if n > 0 and (n + 1) % k == 0 (or the context estimate passed `trigger_tokens`), launch a summary of steps
[0, n) in the background; (3) the agent acts on summary(0..L-1) + raw steps L..n-1 while the memory model works.
With k = 2 launches happen at n = 1, 3, 5, … and the raw window cycles 1, 2. A failed or timed-out summary
never ends the episode: the previous summary stays installed and more raw steps are shown.

Late policies, for a summary not finished when the agent is ready for its next step:
- `wait` (the paper's): block at the next iteration. The memory model gets one agent step (+ tool) of slack,
  whatever k is.
- `deadline`: block only when the next launch is due (k steps after this one's); before that, act on the
  previous summary with more raw steps (the window grows to at most 2k - 1). The memory model gets k steps of
  slack — the "summary from step t - k" of docs/metrics.md. With k = 1 it is `wait`.
- `stale`: never block longer than `max_wait_s`; a launch that falls due while one is in flight is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from pydantic import Field

from comem.context.base import AgentContext, StrategyConfig, register
from comem.context.memory import MemorySettings, MemoryStrategy
from comem.core.records import MemoryRecord, Step


def launch_due(n: int, k: int | None) -> bool:
    """The k-step-off schedule (docs/method.md §4): launch at iteration n when n > 0 and (n + 1) % k == 0."""
    return k is not None and n > 0 and (n + 1) % k == 0


class KsoConfig(MemorySettings, StrategyConfig):
    name: Literal["kso"] = "kso"
    late_policy: Literal["wait", "deadline", "stale"] = "wait"
    max_wait_s: float = Field(default=0.0, ge=0.0)  # with `stale`: how long to wait before going on without it


@register(KsoConfig)
class KStepOffMemory(MemoryStrategy):
    name = "kso"
    config: KsoConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending: tuple[MemoryRecord, asyncio.Future[MemoryRecord]] | None = None
        self.last_launch = 0

    @property
    def busy(self) -> bool:
        return self.pending is not None and not self.pending[1].done()

    async def collect(self, n: int, due: bool) -> float:
        """Step (1): wait for the in-flight summary as the late policy says; install it if it arrived."""
        if self.pending is None:
            return 0.0
        record, task = self.pending
        waited = 0.0  # a finished update (an extracted view always is) costs no wait
        if not task.done():
            t = self.clock.now()
            await asyncio.wait({task}, timeout=self.patience(due))
            waited = self.clock.now() - t
        if not task.done():  # go on with the previous summary, keep this one in flight
            record.exposed_wait_s += waited
            return waited
        self.pending = None
        self.settle(record, n, waited)
        return waited

    def patience(self, due: bool) -> float | None:
        """How long to wait for a late summary: None = until it arrives."""
        policy = self.config.late_policy
        if policy == "wait" or (policy == "deadline" and due):
            return None
        return self.config.max_wait_s if policy == "stale" else 0.0

    def due_at(self, steps: list[Step], n: int) -> bool:
        """A new summary falls due at n (whether or not one is still in flight)."""
        return n > self.last_launch and (launch_due(n, self.config.k) or self.over_token_budget(steps))

    async def context(self, steps: list[Step]) -> AgentContext:
        n = len(steps)
        due = self.due_at(steps, n)
        waited = await self.collect(n, due)
        if due and self.pending is None:
            self.pending = self.launch(steps, end=n, n=n)
            self.last_launch = n
        return self.render(steps, waited)

    async def rewind(self, n: int) -> None:
        """Also cancel an update in flight that summarises steps the history no longer has."""
        await super().rewind(n)
        self.last_launch = min(self.last_launch, n)
        if self.pending is not None and self.pending[0].covers[1] > n:
            await self.close()

    async def close(self) -> None:
        """Episode over: an update still in flight is cancelled and logged as superseded; one that already failed
        is logged as the failure it was."""
        if self.pending is None:
            return
        record, task = self.pending
        self.pending = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if record.status != "error":
            record.status, record.finished_s = "superseded", record.finished_s or self.clock.now()
        self.on_memory(record)
