"""The small interface every context strategy implements, and the registry that names them.

A strategy decides, at the top of each agent iteration, which messages the agent sees. The system prompt and
the task statement are pinned: every strategy sends them first, unchanged. Steps are rendered as whole
assistant/observation pairs, so a cut can never separate a tool call from its result.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_args

from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.records import MemoryRecord, Message, Step
from comem.llm.base import LLM


@dataclass(frozen=True)
class Pinned:
    """The two messages no strategy may drop or summarise away."""

    system: str
    task: str


@dataclass
class AgentContext:
    """What the agent is shown at one iteration, and how it was built."""

    messages: list[Message]
    raw_from: int  # steps raw_from..n-1 are verbatim
    summary_id: int | None = None
    memory_wait_s: float = 0.0

    @property
    def chars(self) -> int:
        return sum(len(m.content) for m in self.messages)

    @property
    def tokens_est(self) -> int:
        return sum(estimate_tokens(m.content) for m in self.messages)


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (~4 bytes/token) for triggers only; measured counts come from the server."""
    return (len(text.encode("utf-8")) + 3) // 4


VIEW_MARGIN = 0.55  # paths and code run 2.3-3.2 bytes a token (SmolLM2 at the low end), not the estimate's 4


def view_budget(max_tokens: int) -> int:
    """The estimated tokens a deterministic view (ledger, recent steps) may take in a summary's place, under a
    budget of `max_tokens` real tokens."""
    return int(max_tokens * VIEW_MARGIN)


def step_messages(step: Step, observation: str | None = None) -> list[Message]:
    """A step as native chat turns. Native tool calls keep their id and a `tool` reply."""
    obs = step.observation if observation is None else observation
    if step.action is not None and step.action.id:
        return [
            Message(role="assistant", content=step.response, tool_calls=[step.action]),
            Message(role="tool", content=obs, tool_call_id=step.action.id),
        ]
    return [Message(role="assistant", content=step.response), Message(role="user", content=obs)]


def history_messages(pinned: Pinned, steps: list[Step]) -> list[Message]:
    """The pinned prompts and `steps` verbatim, as native chat turns: the full history."""
    messages = [Message(role="system", content=pinned.system), Message(role="user", content=pinned.task)]
    for step in steps:
        messages += step_messages(step)
    return messages


@dataclass
class Clock:
    """Seconds since the episode started; shared by the loop and the strategy so records line up."""

    t0: float = field(default_factory=time.perf_counter)

    def now(self) -> float:
        return time.perf_counter() - self.t0


class StrategyConfig(StrictModel):
    """What every strategy's config class carries: `name` (a `Literal` of the strategy's name, the tag of the arm
    union) and an optional `label` for tables and directories (several arms may share a strategy)."""

    name: str
    label: str | None = None

    @property
    def key(self) -> str:
        """The arm's name in tables, directories and results: its label, else its strategy name."""
        return self.label or self.name

    def needs_memory(self) -> bool:
        return lookup(self.name)[0].uses_memory

    def settings(self) -> dict[str, Any]:
        """The strategy's options without the label: what must match for results to be comparable."""
        return self.model_dump(mode="json", exclude={"label"})


class ContextStrategy(ABC):
    """Builds the agent's context. Memory strategies also own their background memory calls."""

    name: ClassVar[str]
    uses_memory: ClassVar[bool] = False
    installed: MemoryRecord | None = None  # the memory the agent sees now (memory strategies set it)

    def __init__(self, config: StrategyConfig, pinned: Pinned, clock: Clock, memory_llm: LLM | None = None,
                 on_memory: Callable[[MemoryRecord], None] | None = None) -> None:
        self.config = config
        self.memory_llm = memory_llm
        self.pinned = pinned
        self.clock = clock
        self.on_memory = on_memory or (lambda record: None)

    def full_history(self, steps: list[Step]) -> AgentContext:
        return AgentContext(messages=history_messages(self.pinned, steps), raw_from=0)

    @abstractmethod
    async def context(self, steps: list[Step]) -> AgentContext:
        """The agent's context for iteration n = len(steps). May wait for (or launch) memory work."""

    @property
    def busy(self) -> bool:
        """Background memory work is still running (closing now would cancel it). Default: none is ever started."""
        return False

    async def close(self) -> None:
        """Cancel background work at episode end. Default: nothing to cancel."""
        return None

    async def rewind(self, n: int) -> None:
        """The history was cut back to its first n steps (a client edited, rewound or forked its conversation):
        forget whatever stands for later steps. Default: nothing is kept between iterations."""
        return None


_REGISTRY: dict[str, tuple[type[ContextStrategy], type[StrategyConfig]]] = {}


def register(config_cls: type[StrategyConfig]) -> Callable[[type[ContextStrategy]], type[ContextStrategy]]:
    """Class decorator: make a strategy available by its `name` with its config class, which must be a
    `StrategyConfig` whose `name` is `Literal[<the strategy's name>]` (the tag of the arm union)."""

    def wrap(cls: type[ContextStrategy]) -> type[ContextStrategy]:
        tag = get_args(config_cls.model_fields["name"].annotation) if issubclass(config_cls, StrategyConfig) else ()
        if tag != (cls.name,):
            raise TypeError(f"{config_cls.__name__} must be a StrategyConfig with name: Literal[{cls.name!r}]")
        _REGISTRY[cls.name] = (cls, config_cls)
        return cls

    return wrap


def strategy_names() -> list[str]:
    return sorted(_REGISTRY)


def config_classes() -> list[type[StrategyConfig]]:
    """Every registered strategy's config class, by strategy name."""
    return [_REGISTRY[name][1] for name in strategy_names()]


def lookup(name: str) -> tuple[type[ContextStrategy], type[StrategyConfig]]:
    if name not in _REGISTRY:
        raise ComemError(f"Unknown context strategy {name!r}.", fix=f"use one of: {', '.join(strategy_names())}.")
    return _REGISTRY[name]


def build_strategy(config: StrategyConfig, pinned: Pinned, clock: Clock, *, memory_llm: LLM | None = None,
                   on_memory: Callable[[MemoryRecord], None] | None = None) -> ContextStrategy:
    """The strategy an arm's config names, ready for one episode (live, replayed or benchmarked)."""
    strategy_cls, _ = lookup(config.name)
    return strategy_cls(config, pinned, clock, memory_llm=memory_llm, on_memory=on_memory)
