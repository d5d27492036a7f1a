"""`mask`: observation masking ("The Complexity Trap" baseline).

The last `keep_last` observations stay verbatim; older ones become a one-line placeholder. Thoughts and
actions are kept, so the agent still knows what it did, just not every output it read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from comem.context.base import (
    AgentContext,
    ContextStrategy,
    StrategyConfig,
    history_messages,
    register,
    step_messages,
)
from comem.core.records import Message, Step


def is_masked(index: int, n: int, keep_last: int) -> bool:
    """At iteration n, step `index`'s observation is replaced by a placeholder unless it is among the last few."""
    return index < n - keep_last


class MaskConfig(StrategyConfig):
    name: Literal["mask"] = "mask"
    keep_last: int = Field(default=3, ge=0)
    placeholder: str = "[Output of step {step} omitted to save context ({lines} lines).]"


def placeholder(config: MaskConfig, number: int, observation: str) -> str:
    """What stands for step `number`'s (from 1) output once it is masked (here, and in the gateway's requests)."""
    return config.placeholder.format(step=number, lines=observation.count("\n") + 1)


def masked_steps(steps: list[Step], config: MaskConfig, *, after_last: str = "") -> list[Message]:
    """Every step as chat turns, the observations before the last `keep_last` as placeholders: the live strategy
    and `comem eval-memory`'s `mask` condition (context/policies.py) show exactly this. `after_last` is appended
    to the last step's observation (where a `keep_calls` memory puts its blocks, context/memory.py)."""
    messages: list[Message] = []
    for position, step in enumerate(steps):
        masked = None
        if is_masked(position, len(steps), config.keep_last):
            masked = placeholder(config, step.index + 1, step.observation)
        if after_last and position == len(steps) - 1:
            masked = (step.observation if masked is None else masked) + after_last
        messages += step_messages(step, observation=masked)
    return messages


@register(MaskConfig)
class ObservationMasking(ContextStrategy):
    name = "mask"
    config: MaskConfig

    async def context(self, steps: list[Step]) -> AgentContext:
        return AgentContext(messages=history_messages(self.pinned, []) + masked_steps(steps, self.config), raw_from=0)
