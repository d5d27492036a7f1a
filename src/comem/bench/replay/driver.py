"""Replay one recorded trajectory under one context strategy against a real engine.

Matched replay: every step's action and observation come from the recording, so all arms see the same
history and differ only in how the strategy builds the prompt. The engine generates a forced number of
tokens per call (the recorded reply length, or a fixed one) that are timed and then discarded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from comem.bench.records import MemoryRow, StepRow
from comem.bench.replay.arms import ReplayArm
from comem.context import Pinned, build_strategy
from comem.context.base import Clock, estimate_tokens
from comem.core.records import Completion, MemoryRecord, MemoryTiming, Message, Step, StepTiming
from comem.llm.base import LLM
from comem.trajectories.sources import RecordedTrajectory


class SaltedLLM:
    """Tags the first message with a session name, so an engine's prefix cache is shared only within it.

    Each arm, repeat and agent gets its own session: no arm is served from another arm's cache. With
    `session=None` every request gets a fresh tag — the no-reuse control, on any engine.
    """

    def __init__(self, llm: LLM, session: str | None) -> None:
        self.llm, self.session, self.model = llm, session, llm.model

    async def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        tag = self.session or uuid.uuid4().hex
        first = messages[0].model_copy(update={"content": f"[session {tag}]\n{messages[0].content}"})
        return await self.llm.chat([first, *messages[1:]], **kwargs)

    async def aclose(self) -> None:
        return None  # the wrapped client belongs to the caller


class InstantMemory:
    """A memory model whose summary is ready the moment it is asked for and loads no engine: the S* run's.

    Its summary is `max_tokens` repetitions of one word that is one token in the bundled tokenizers, so the agent's
    prompts are as long as with a forced-length real summary.
    """

    model = "instant-memory"

    async def chat(self, messages: list[Message], *, max_tokens: int | None = None, **_: Any) -> Completion:
        n = max_tokens or 1
        return Completion(text=" the" * n, finish_reason="length", prompt_tokens=estimate_tokens(
            "".join(m.content for m in messages)), completion_tokens=n)

    async def aclose(self) -> None:
        return None


def forced_tokens(step: Step, fixed: int | None) -> int:
    """Output length of the replayed call: fixed, else the recorded reply's length."""
    if fixed is not None:
        return fixed
    return max(1, step.completion_tokens or estimate_tokens(step.response))


async def replay_trajectory(
    rec: RecordedTrajectory, arm: ReplayArm, agent_llm: LLM, memory_llm: LLM | None, clock: Clock, *,
    agent: int = 0, concurrency: int = 1, repeat: int = 0, job: int = 0, output_tokens: int | None = None,
    tool_scale: float = 1.0, tool_time_s: float | None = None, on_step: Callable[[StepRow], None] | None = None,
) -> tuple[list[StepRow], list[MemoryRow]]:
    """Run the recorded steps through `arm`'s strategy; `clock` is the run's, so rows of all agents line up."""
    session = f"{arm.label}/r{repeat}/a{agent}/j{job}"
    agent_llm = SaltedLLM(agent_llm, session if arm.reuse_cache else None)
    memory = SaltedLLM(memory_llm, session) if memory_llm is not None else None
    memory_rows: list[MemoryRecord] = []
    strategy = build_strategy(arm.strategy, Pinned(system=rec.system, task=rec.task), clock,
                              memory_llm=memory, on_memory=memory_rows.append)
    seen: list[Step] = []
    rows: list[StepRow] = []
    where = {"arm": arm.label, "concurrency": concurrency, "repeat": repeat, "agent": agent, "trajectory": rec.name}
    try:
        for index, recorded in enumerate(rec.steps):
            started = clock.now()
            ctx = await strategy.context(seen)
            done = await agent_llm.chat(ctx.messages, max_tokens=forced_tokens(recorded, output_tokens),
                                        temperature=0.0)
            tool_s = tool_time_s if tool_time_s is not None else recorded.tool_s * tool_scale
            await asyncio.sleep(tool_s)
            seen.append(recorded.model_copy(update={"index": index}))
            timing = StepTiming(
                prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
                cached_tokens=done.cached_tokens, agent_ttft_s=done.ttft_s, agent_total_s=done.total_s, tool_s=tool_s,
                memory_wait_s=ctx.memory_wait_s, summary_id=ctx.summary_id, raw_from=ctx.raw_from, started_s=started,
                finished_s=clock.now(),
            )  # what the agent loop records in a Step, from the same completion and context
            row = StepRow(**where, step=index, **timing.model_dump())
            rows.append(row)
            if on_step is not None:
                on_step(row)
    finally:
        await strategy.close()
    timing_fields = set(MemoryTiming.model_fields)
    return rows, [MemoryRow(**where, **m.model_dump(include=timing_fields)) for m in memory_rows]
