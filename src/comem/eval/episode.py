"""One episode: a task in a fresh environment (its harness), one arm's context strategy, the agent loop, grading.

The trajectory file gets a line per step and per memory update as they happen; the episode's result line
is written last, so a crash mid-episode leaves a readable partial trajectory and no result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comem.agent.loop import Agent, AgentConfig
from comem.context import StrategyConfig, build_strategy
from comem.context.base import Clock
from comem.core.jsonlog import JsonlLog
from comem.core.records import UNFINISHED, EpisodeEnd, EpisodeStart, ExitReason, MemoryRecord, Step
from comem.environment.tools import select_tools
from comem.llm.base import LLM
from comem.tasks.harness import harness_for

MAX_STORED_PATCH_CHARS = 1_000_000  # a patch is stored in the results and the trajectory; an agent's 60 MB file is not


def _stored_patch(patch: str) -> dict[str, Any]:
    """The patch fields of an end record: the whole patch, or its start with the whole one's size and hash."""
    if len(patch) <= MAX_STORED_PATCH_CHARS:
        return {"patch": patch}
    data = patch.encode("utf-8", errors="surrogateescape")
    return {"patch": patch[:MAX_STORED_PATCH_CHARS], "patch_bytes": len(data),
            "patch_sha256": hashlib.sha256(data).hexdigest()}


def episode_end(instance_id: str, arm: str, exit_reason: ExitReason, steps: list[Step],
                memory_records: list[MemoryRecord], *, wall_s: float, error: str | None = None,
                resolved: bool | None = None, grade_error: str | None = None, patch: str = "",
                grade_detail: dict[str, Any] | None = None) -> EpisodeEnd:
    """The result line of an episode from its steps and memory updates (also for one cut off by a time limit)."""
    return EpisodeEnd(
        instance_id=instance_id, strategy=arm, exit_reason=exit_reason, error=error, steps=len(steps),
        resolved=resolved, grade_error=grade_error, grade_detail=grade_detail or {}, **_stored_patch(patch),
        wall_s=wall_s,
        agent_s=sum(s.agent_total_s for s in steps), tool_s=sum(s.tool_s for s in steps),
        memory_wait_s=sum(s.memory_wait_s for s in steps),
        max_prompt_tokens=max((s.prompt_tokens for s in steps), default=0),
        memory_updates=sum(r.status == "ok" for r in memory_records),
    )


async def run_episode(task: Any, arm: StrategyConfig, agent_llm: LLM, memory_llm: LLM | None, loop: AgentConfig,
                      trajectory_path: Path, *, bash_timeout_s: float = 60.0, do_grade: bool = True,
                      on_step: Callable[[Step], None] | None = None) -> EpisodeEnd:
    trajectory_path.unlink(missing_ok=True)  # a rerun of an unfinished episode starts clean
    writer = JsonlLog(trajectory_path, background=True)  # the disk never blocks the event loop
    harness = harness_for(task)
    env = harness.open(task, bash_timeout_s=bash_timeout_s)
    env.tool_specs = select_tools(env.tool_specs, loop.tools)  # before the prompts: they list the tools
    clock = Clock()
    try:
        pinned = harness.pinned(task, env)
        writer.append(EpisodeStart(instance_id=task.instance_id, strategy=arm.key, config={
            "strategy": arm.settings(), "loop": loop.model_dump(mode="json"),
            "agent_model": agent_llm.model, "memory_model": memory_llm.model if memory_llm else None,
        }, system_prompt=pinned.system, task_prompt=pinned.task))
        memory_records: list[MemoryRecord] = []

        def remember(record: MemoryRecord) -> None:
            memory_records.append(record)
            writer.append(record)

        strategy = build_strategy(arm, pinned, clock, memory_llm=memory_llm, on_memory=remember)

        def record(step: Step) -> None:
            writer.append(step)
            if on_step:
                on_step(step)

        outcome = await Agent(agent_llm, env, strategy, loop, clock, on_step=record).run()
        wall_s = clock.now()
        patch = env.diff()
        graded = do_grade and outcome.exit_reason not in UNFINISHED  # no result, nothing to grade
        result = await harness.grade(task, env, outcome) if graded else None
        end = episode_end(task.instance_id, arm.key, outcome.exit_reason, outcome.steps, memory_records,
                          wall_s=wall_s, error=outcome.error, resolved=result.resolved if result else None,
                          grade_error=result.error if result else None, patch=patch,
                          grade_detail=result.detail if result else None)
        writer.append(end)
        return end
    finally:
        writer.close()
        env.close()
