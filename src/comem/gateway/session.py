"""One conversation behind the gateway: its steps, its `kso` strategy, its records.

Requests are stateless, so each one is compared with what the session knows. Turns it has seen (same content)
are skipped, new complete turns become steps, and a history that no longer extends the known one (edited,
rewound, forked) rewinds the strategy to the common prefix first. A step's timings come from the upstream call
that produced its assistant turn; its tool time is the client's time between that reply and the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comem.context import StrategyConfig, build_strategy
from comem.context.base import Clock, Pinned
from comem.context.memory import clip_middle, keeps_calls, memory_block
from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeStart, MemoryRecord, Step
from comem.eval.episode import episode_end
from comem.eval.results import EpisodeResult
from comem.gateway.wire import Conversation, Usage
from comem.llm.base import LLM

SYSTEM_CHARS = 8000  # the system prompt as the memory model reads it (an agent's can be tens of thousands)


@dataclass
class Plan:
    """What to send upstream for one request."""

    n: int  # the step the reply will be (complete turns before it)
    rewrite: bool = False
    raw_from: int = 0  # turns before it are replaced by `block` (or, with keep_calls, their outputs are)
    block: str = ""
    keep_calls: bool = False
    summary_id: int | None = None
    memory_wait_s: float = 0.0
    started_s: float = 0.0


@dataclass
class Call:
    """The upstream call that answered a plan: its timings become the next step's."""

    plan: Plan
    ttft_s: float
    total_s: float
    finished_s: float
    usage: Usage


class Session:
    def __init__(self, key: str, arm: StrategyConfig, memory_llm: LLM | None, conv: Conversation, path: Path,
                 on_memory: Callable[[MemoryRecord], None], *, fresh: bool = True) -> None:
        self.key, self.arm, self.memory_llm, self.path = key, arm, memory_llm, path
        self.on_memory = on_memory
        self.lock = asyncio.Lock()
        self.log = JsonlLog(path, background=True)
        self.clock = Clock()
        self.last_seen = 0.0
        self.resyncs = 0
        self._reset(conv, fresh)

    def _reset(self, conv: Conversation, fresh: bool) -> None:
        self.pinned = Pinned(system=clip_middle(conv.system, SYSTEM_CHARS), task=conv.task)
        self.identity = (conv.system, conv.task)
        self.steps: list[Step] = []
        self.fingerprints: list[str] = []
        self.call: Call | None = None
        self.memory_records: list[MemoryRecord] = []
        self.strategy = build_strategy(self.arm, self.pinned, self.clock, memory_llm=self.memory_llm,
                                       on_memory=self._memory)
        if fresh:
            config = {"session": self.key, "strategy": self.arm.settings(), "agent_model": conv.model,
                      "memory_model": self.memory_llm.model if self.memory_llm else None}
            self.log.append(EpisodeStart(instance_id=self.path.stem, strategy=self.arm.key, system_prompt=conv.system,
                                         task_prompt=conv.task, config=config))

    def _memory(self, record: MemoryRecord) -> None:
        self.memory_records.append(record)
        self.log.append(record)
        self.on_memory(record)

    @property
    def installed(self) -> MemoryRecord | None:
        return self.strategy.installed

    @property
    def summarising(self) -> bool:
        """A memory update is still running (closing now would cancel it)."""
        return self.strategy.busy

    async def follow(self, conv: Conversation) -> None:
        """Bring the known steps in line with the request's history."""
        if (conv.system, conv.task) != self.identity:  # a new conversation under the same session id
            await self.strategy.close()
            self.resyncs += 1
            self._reset(conv, fresh=True)
        turns = [t for t in conv.turns if t.complete]
        same = 0
        while same < min(len(turns), len(self.fingerprints)) and turns[same].fingerprint == self.fingerprints[same]:
            same += 1
        if same < len(self.fingerprints):
            self.resyncs += 1
            del self.steps[same:], self.fingerprints[same:]
            await self.strategy.rewind(same)
            if self.call is not None and self.call.plan.n > same:
                self.call = None
        for turn in turns[same:]:
            step = self._timed(turn.step)
            self.steps.append(step)
            self.fingerprints.append(turn.fingerprint)
            self.log.append(step)

    def restore(self, conv: Conversation, fingerprints: list[str], installed: MemoryRecord | None) -> None:
        """State saved before a restart: steps the request still agrees with count as known (already recorded)."""
        turns = [t for t in conv.turns if t.complete]
        same = 0
        while same < min(len(turns), len(fingerprints)) and turns[same].fingerprint == fingerprints[same]:
            same += 1
        self.steps = [t.step for t in turns[:same]]
        self.fingerprints = fingerprints[:same]
        if installed is not None and installed.covers[1] <= same and hasattr(self.strategy, "adopt"):
            self.strategy.adopt(installed)

    def _timed(self, step: Step) -> Step:
        call = self.call
        if call is None or call.plan.n != step.index:
            return step  # seen for the first time with its reply already in it: no timings
        now = self.clock.now()
        return step.model_copy(update={
            "prompt_tokens": call.usage.prompt_tokens, "completion_tokens": call.usage.completion_tokens,
            "cached_tokens": call.usage.cached_tokens, "agent_ttft_s": call.ttft_s, "agent_total_s": call.total_s,
            "memory_wait_s": call.plan.memory_wait_s, "summary_id": call.plan.summary_id,
            "raw_from": call.plan.raw_from, "started_s": call.plan.started_s, "finished_s": now,
            "tool_s": max(0.0, now - call.finished_s),
        })

    async def plan(self, conv: Conversation, size_tokens: int, min_tokens: int) -> Plan:
        """Follow the request, then decide: pass through (small, or no summary yet) or summary + recent turns."""
        started = self.clock.now()
        await self.follow(conv)
        plan = Plan(n=len(self.steps), started_s=started)
        if size_tokens < min_tokens or conv.head_end == 0:
            return plan
        ctx = await self.strategy.context(self.steps)
        plan.memory_wait_s, plan.raw_from = ctx.memory_wait_s, ctx.raw_from
        record = self.strategy.installed
        if ctx.summary_id is not None and record is not None:
            plan.rewrite, plan.summary_id = True, ctx.summary_id
            plan.block = memory_block(record.summary, record.covers[1], record.ledger)
            plan.keep_calls = keeps_calls(self.arm)
        else:
            plan.raw_from = 0
        return plan

    def answered(self, plan: Plan, ttft_s: float, total_s: float, usage: Usage) -> None:
        self.call = Call(plan=plan, ttft_s=ttft_s, total_s=total_s, finished_s=self.clock.now(), usage=usage)

    async def close(self) -> EpisodeResult:
        """Cancel memory work in flight, finish the trajectory file; the session's result line (as `comem run`
        writes one per episode, so `comem report` reads gateway traffic)."""
        await self.strategy.close()
        self.log.close()
        return EpisodeResult(**episode_end(self.path.stem, self.arm.key, "session_end", self.steps, self.memory_records,
                                           wall_s=self.clock.now()).model_dump())
