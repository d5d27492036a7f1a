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

from comem.bench.records import MemoryTiming, StepTiming
from comem.bench.replay.arms import ReplayArm
from comem.context import Pinned, lookup
from comem.context.base import Clock, estimate_tokens
from comem.core.records import Completion, MemoryRecord, Message, Step
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


def forced_tokens(step: Step, fixed: int | None) -> int:
    """Output length of the replayed call: fixed, else the recorded reply's length."""
    if fixed is not None:
        return fixed
    return max(1, step.completion_tokens or estimate_tokens(step.response))


async def replay_trajectory(
    rec: RecordedTrajectory, arm: ReplayArm, agent_llm: LLM, memory_llm: LLM | None, clock: Clock, *,
    agent: int = 0, concurrency: int = 1, repeat: int = 0, job: int = 0, output_tokens: int | None = None,
    tool_scale: float = 1.0, tool_time_s: float | None = None, on_step: Callable[[StepTiming], None] | None = None,
) -> tuple[list[StepTiming], list[MemoryTiming]]:
    """Run the recorded steps through `arm`'s strategy; `clock` is the run's, so rows of all agents line up."""
    session = f"{arm.label}/r{repeat}/a{agent}/j{job}"
    agent_llm = SaltedLLM(agent_llm, session if arm.reuse_cache else None)
    memory = SaltedLLM(memory_llm, session) if memory_llm is not None else None
    memory_rows: list[MemoryRecord] = []
    strategy_cls, _ = lookup(arm.strategy.name)
    strategy = strategy_cls(arm.strategy.strategy_config(), Pinned(system=rec.system, task=rec.task), clock,
                            memory_llm=memory, on_memory=memory_rows.append)
    seen: list[Step] = []
    rows: list[StepTiming] = []
    try:
        for index, recorded in enumerate(rec.steps):
            started = clock.now()
            ctx = await strategy.context(seen)
            done = await agent_llm.chat(ctx.messages, max_tokens=forced_tokens(recorded, output_tokens),
                                        temperature=0.0)
            tool_s = tool_time_s if tool_time_s is not None else recorded.tool_s * tool_scale
            await asyncio.sleep(tool_s)
            seen.append(recorded.model_copy(update={"index": index}))
            row = StepTiming(
                arm=arm.label, concurrency=concurrency, repeat=repeat, agent=agent, trajectory=rec.name,
                step=index, prompt_tokens=done.prompt_tokens, cached_tokens=done.cached_tokens,
                completion_tokens=done.completion_tokens, ttft_s=done.ttft_s, decode_s=done.decode_s,
                total_s=done.total_s, tool_s=tool_s, memory_wait_s=ctx.memory_wait_s, started_s=started,
                finished_s=clock.now(), raw_from=ctx.raw_from, summary_id=ctx.summary_id,
            )
            rows.append(row)
            if on_step is not None:
                on_step(row)
    finally:
        await strategy.close()
    return rows, [_memory_row(r, arm, agent, concurrency, repeat, rec.name) for r in memory_rows]


def _memory_row(r: MemoryRecord, arm: ReplayArm, agent: int, concurrency: int, repeat: int,
                trajectory: str) -> MemoryTiming:
    return MemoryTiming(
        arm=arm.label, concurrency=concurrency, repeat=repeat, agent=agent, trajectory=trajectory, id=r.id,
        launch_step=r.launch_step, covers=r.covers, status=r.status, input_tokens=r.input_tokens,
        cached_tokens=r.cached_tokens, summary_tokens=r.summary_tokens, launched_s=r.launched_s,
        finished_s=r.finished_s, exposed_wait_s=r.exposed_wait_s,
    )
