"""`full`: the append-only native history. Every prompt extends the previous one, so prefix caches hit."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from comem.context.base import AgentContext, ContextStrategy, register
from comem.core.records import Step


class FullConfig(BaseModel):
    name: Literal["full"] = "full"


@register(FullConfig)
class FullContext(ContextStrategy):
    name = "full"

    async def context(self, steps: list[Step]) -> AgentContext:
        return self.full_history(steps)
