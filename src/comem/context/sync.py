"""`sync`: coupled summarisation — when the trigger fires, the agent stops and waits for the summary.

The summary covers steps [0, n - retain) and those raw steps are dropped from the prompt (the original's sync
ablation kept them through a slicing bug, docs/method.md §10). The raw window cycles retain..retain+k-1 steps, like
`kso`'s 1..k, so the two differ only in waiting versus staleness.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from comem.context.base import AgentContext, StrategyConfig, register
from comem.context.memory import MemorySettings, MemoryStrategy
from comem.core.records import Step


def summarise_due(n: int, covered: int, k: int | None, retain: int) -> bool:
    """Coupled schedule: summarise [0, n - retain) once k steps beyond the retained ones are unsummarised."""
    return k is not None and n - retain > covered and n - covered >= k + retain


class SyncConfig(MemorySettings, StrategyConfig):
    name: Literal["sync"] = "sync"
    retain: int = Field(default=1, ge=0)  # most recent steps always kept raw


@register(SyncConfig)
class SyncMemory(MemoryStrategy):
    name = "sync"
    config: SyncConfig

    def should_summarise(self, steps: list[Step]) -> bool:
        n, retain = len(steps), self.config.retain
        if n - retain <= self.covered:
            return False
        return summarise_due(n, self.covered, self.config.k, retain) or self.over_token_budget(steps)

    async def context(self, steps: list[Step]) -> AgentContext:
        waited = 0.0
        if self.should_summarise(steps):
            n = len(steps)
            record, task = self.launch(steps, end=n - self.config.retain, n=n)
            if not task.done():  # an extracted view is done at launch
                t = self.clock.now()
                await task
                waited = self.clock.now() - t
            self.settle(record, n, waited)
        return self.render(steps, waited)
