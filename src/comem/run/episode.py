"""One episode: a task in a fresh environment (its harness), one arm's context strategy, the agent loop, grading.

The trajectory file gets a line per step and per memory update as they happen; the episode's result line
is written last, so a crash mid-episode leaves a readable partial trajectory and no result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comem.agent.loop import Agent, AgentConfig
from comem.agent.trajectory import EpisodeEnd, EpisodeStart, ExitReason, MemoryRecord, Step, TrajectoryWriter
from comem.context import Pinned, lookup
from comem.context.base import Clock
from comem.context.memory import fill, load_prompt
from comem.environment.tools import usage
from comem.llm.base import LLM
from comem.run.config import ArmConfig
from comem.run.harness import harness_for
from comem.tasks.task import Task


def describe_tools(specs: list[dict[str, Any]]) -> str:
    return "\n".join(f"- {usage(specs, s['function']['name'])}: {s['function']['description']}" for s in specs)


def repo_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts)
    )


def format_files(files: list[str], limit: int = 200) -> str:
    """The repository's files, so a small model need not guess paths."""
    more = f"\n... and {len(files) - limit} more" if len(files) > limit else ""
    return "\n".join(files[:limit]) + more


def example_calls(problem_statement: str, files: list[str]) -> str:
    """Examples made of this task's real names: small models copy examples, so copying should help."""
    sources = [f for f in files if f.endswith(".py") and "test" not in f and not f.endswith("__init__.py")]
    mentioned = [f for f in sources if Path(f).stem in problem_statement]
    names = [n.split(".")[-1] for n in re.findall(r"(?<!`)`([A-Za-z_][\w.]*)(?:\(\))?`(?!`)", problem_statement)]
    lines = []
    if names:
        lines.append(json.dumps({"name": "search", "arguments": {"search_term": names[0]}}))
    if sources:
        path = (mentioned or sources)[0]
        lines.append(json.dumps({"name": "file_editor", "arguments": {"command": "view", "path": path}}))
    return "\n".join(lines)


def pinned_prompts(task: Task, tool_specs: list[dict[str, Any]], root: Path) -> Pinned:
    return repo_prompts(task.problem_statement, tool_specs, repo_files(root))


def repo_prompts(problem_statement: str, tool_specs: list[dict[str, Any]], files: list[str]) -> Pinned:
    """The repository-task prompts from the file list, wherever the repository lives (local dir, container)."""
    system = fill(load_prompt("agent_system.txt"), tools=describe_tools(tool_specs),
                  examples=example_calls(problem_statement, files))
    user = fill(load_prompt("agent_task.txt"), problem_statement=problem_statement.strip(),
                files=format_files(files))
    return Pinned(system=system, task=user)


def episode_end(instance_id: str, arm: str, exit_reason: ExitReason, steps: list[Step],
                memory_records: list[MemoryRecord], *, wall_s: float, error: str | None = None,
                resolved: bool | None = None, grade_error: str | None = None, patch: str = "",
                grade_detail: dict[str, Any] | None = None) -> EpisodeEnd:
    """The result line of an episode from its steps and memory updates (also for one cut off by a time limit)."""
    return EpisodeEnd(
        instance_id=instance_id, strategy=arm, exit_reason=exit_reason, error=error, steps=len(steps),
        resolved=resolved, grade_error=grade_error, grade_detail=grade_detail or {}, patch=patch, wall_s=wall_s,
        agent_s=sum(s.agent_total_s for s in steps), tool_s=sum(s.tool_s for s in steps),
        memory_wait_s=sum(s.memory_wait_s for s in steps),
        max_prompt_tokens=max((s.prompt_tokens for s in steps), default=0),
        memory_updates=sum(r.status == "ok" for r in memory_records),
    )


async def run_episode(task: Any, arm: ArmConfig, agent_llm: LLM, memory_llm: LLM | None, loop: AgentConfig,
                      trajectory_path: Path, *, bash_timeout_s: float = 60.0, do_grade: bool = True,
                      on_step: Callable[[Step], None] | None = None) -> EpisodeEnd:
    trajectory_path.unlink(missing_ok=True)  # a rerun of an unfinished episode starts clean
    writer = TrajectoryWriter(trajectory_path)
    harness = harness_for(task)
    env = harness.open(task, bash_timeout_s=bash_timeout_s)
    clock = Clock()
    try:
        pinned = harness.pinned(task, env)
        strategy_config = arm.strategy_config()
        writer.write(EpisodeStart(instance_id=task.instance_id, strategy=arm.key, config={
            "strategy": strategy_config.model_dump(mode="json"), "loop": loop.model_dump(mode="json"),
            "agent_model": agent_llm.model, "memory_model": memory_llm.model if memory_llm else None,
        }, system_prompt=pinned.system, task_prompt=pinned.task))
        strategy_cls, _ = lookup(arm.name)
        memory_records: list[MemoryRecord] = []

        def remember(record: MemoryRecord) -> None:
            memory_records.append(record)
            writer.write(record)

        strategy = strategy_cls(strategy_config, pinned, clock, memory_llm=memory_llm, on_memory=remember)

        def record(step: Step) -> None:
            writer.write(step)
            if on_step:
                on_step(step)

        outcome = await Agent(agent_llm, env, strategy, loop, clock, on_step=record).run()
        wall_s = clock.now()
        patch = env.diff()
        result = await harness.grade(task, env, outcome) if do_grade else None
        end = episode_end(task.instance_id, arm.key, outcome.exit_reason, outcome.steps, memory_records,
                          wall_s=wall_s, error=outcome.error, resolved=result.resolved if result else None,
                          grade_error=result.error if result else None, patch=patch,
                          grade_detail=result.detail if result else None)
        writer.write(end)
        return end
    finally:
        writer.close()
        env.close()
