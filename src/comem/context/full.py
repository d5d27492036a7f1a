"""`full`: the append-only native history. Every prompt extends the previous one, so prefix caches hit."""

from __future__ import annotations

from typing import Literal

from comem.context.base import AgentContext, ContextStrategy, StrategyConfig, register
from comem.core.records import Step


class FullConfig(StrategyConfig):
    name: Literal["full"] = "full"


@register(FullConfig)
class FullContext(ContextStrategy):
    name = "full"

    async def context(self, steps: list[Step]) -> AgentContext:
        return self.full_history(steps)
