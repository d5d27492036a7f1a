"""The exact context the agent saw at each step, rebuilt by the code the run used.

A step records which summary its prompt held (`summary_id`) and from which step on the history was raw
(`raw_from`); with the episode's pinned prompts and the recorded steps, `installed_messages` (memory strategies)
or the strategy's own `context` (full, mask; and memory strategies before their first summary) gives back the
messages. Each rebuilt context is checked against what the step recorded (message count and characters).

Contexts share most of their messages, so they are interned: every distinct message is stored once and a
context is a list of runs of message ids, which keeps a 300-step episode's page (and its export) small.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from comem.context import build_strategy, validate_arm
from comem.context.base import Clock, Pinned, StrategyConfig
from comem.context.full import FullConfig
from comem.context.memory import block_index, installed_messages, keeps_calls
from comem.core.errors import ComemError
from comem.core.records import Message, Step
from comem.view.load import EpisodeData


@dataclass
class StepContext:
    """Step n's context as runs [first, last] of message ids, and how it compares with the record."""

    runs: list[tuple[int, int]]
    messages: int
    chars: int
    matches: bool | None  # None: the step recorded no size (older files)


@dataclass
class Contexts:
    """Every step's context over one table of distinct messages (role, text, a note on tool calls)."""

    texts: list[tuple[str, str, str]] = field(default_factory=list)
    steps: dict[int, StepContext] = field(default_factory=dict)
    notice: str | None = None
    _ids: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, index: int, messages: list[Message], step: Step, summary_at: int | None = None) -> None:
        note = "task + summary block" if summary_at == 1 else "output + summary block"
        ids = [self._intern(m, note if i == summary_at else "") for i, m in enumerate(messages)]
        runs: list[tuple[int, int]] = []
        for i in ids:
            if runs and runs[-1][1] + 1 == i:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        chars = sum(len(m.content) for m in messages)
        recorded = step.context_messages > 0
        self.steps[index] = StepContext(runs, len(messages), chars, (
            len(messages) == step.context_messages and chars == step.context_chars) if recorded else None)

    def _intern(self, message: Message, note: str) -> int:
        note = ", ".join([note] * bool(note) + [f"tool call {c.name}" for c in message.tool_calls or []])
        key = (message.role, message.content, note)
        if key not in self._ids:
            self._ids[key] = len(self.texts)
            self.texts.append(key)
        return self._ids[key]

    def payload(self) -> dict:
        """What the page's script reads: the message table and each step's runs."""
        return {"texts": self.texts, "steps": {str(n): {"runs": c.runs, "messages": c.messages, "chars": c.chars,
                                                        "matches": c.matches} for n, c in self.steps.items()}}


def _arm(data: EpisodeData) -> StrategyConfig | None:
    try:
        return validate_arm(data.strategy) if data.strategy else None
    except ComemError:
        return None


async def _plain(config: StrategyConfig, pinned: Pinned, steps: list[Step], wanted: list[int]) \
        -> dict[int, list[Message]]:
    strategy = build_strategy(config, pinned, Clock())
    return {n: (await strategy.context(steps[:n])).messages for n in wanted}


def _run(coroutine):
    """Run a strategy's `context` calls to the end, also from code that is inside an event loop (a thread of
    its own then)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def rebuild(data: EpisodeData) -> Contexts:
    """The context of every step that can be rebuilt (its prompts are known and the steps before it recorded)."""
    out = Contexts()
    if data.start is None:
        out.notice = "No episode start line: the prompts are unknown."
        return out
    pinned = Pinned(system=data.start.system_prompt, task=data.start.task_prompt)
    steps = [s for i, s in enumerate(data.steps) if s.index == i]  # up to the first gap
    summaries = {r.id: r for r in data.memory}
    arm = _arm(data)
    plain_config = arm if arm is not None and not arm.needs_memory() else FullConfig()
    plain = [s.index for s in steps if s.summary_id is None]
    rendered = _run(_plain(plain_config, pinned, steps, plain)) if plain else {}
    missing = []
    keep_calls = keeps_calls(arm)
    for step in steps:
        if step.summary_id is None:
            out.add(step.index, rendered[step.index], step)
        elif (record := summaries.get(step.summary_id)) is not None:
            messages = installed_messages(pinned, record, steps[:step.index], keep_calls=keep_calls)
            out.add(step.index, messages, step, summary_at=block_index(record.covers[1], keep_calls))
        else:
            missing.append(step.index)
    if missing:
        out.notice = (f"Steps {', '.join(map(str, missing))} held a summary whose record is not in the trajectory; "
                      "their context cannot be rebuilt.")
    elif arm is None and data.strategy:
        out.notice = f"Unknown strategy {data.strategy.get('name')!r}: contexts without a summary are shown in full."
    return out
