"""`comem run`: every task under every arm, interleaved, into one run directory.

Layout of a run directory:
    config.yaml                         the resolved configuration
    logs/{agent,memory}-server.log      embedded server logs
    <arm>/trajectories/<task>.jsonl     steps + memory updates, appended as they happen
    <arm>/results.jsonl                 one EpisodeEnd per finished episode
    summary.json, summary.md            the per-arm table
Arms are interleaved per task (task 1 under every arm, then task 2 …) so machine noise hits arms alike.
A rerun into the same directory skips episodes that already have a result.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import yaml

from comem.agent.trajectory import EpisodeEnd, Step
from comem.run.backends import open_model
from comem.run.config import RunConfig
from comem.run.episode import run_episode
from comem.tasks.task import Task, load_tasks


def select_tasks(config: RunConfig) -> list[Task]:
    tasks = load_tasks(config.tasks, config.task_ids)
    return tasks[: config.limit] if config.limit else tasks


def finished_ids(results: Path) -> set[str]:
    if not results.exists():
        return set()
    ids = set()
    for line in results.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError, KeyError):
            ids.add(json.loads(line)["instance_id"])
    return ids


def append_result(results: Path, end: EpisodeEnd) -> None:
    with results.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(end.model_dump(mode="json")) + "\n")


ProgressHook = Callable[[str, str, Step | EpisodeEnd | None], None]


async def run(config: RunConfig, out: Path, tasks: list[Task], progress: ProgressHook | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    notify = progress or (lambda arm, task, event: None)
    need_memory = any(arm.needs_memory() for arm in config.arms)
    async with contextlib.AsyncExitStack() as stack:
        agent_threads, memory_threads = config.thread_plan(need_memory)
        agent = await stack.enter_async_context(open_model(config.agent, "agent", out / "logs", agent_threads))
        memory = await stack.enter_async_context(
            open_model(config.memory, "memory", out / "logs", memory_threads)) if need_memory else None
        for task in tasks:
            for arm in config.arms:
                results = out / arm.key / "results.jsonl"
                if task.instance_id in finished_ids(results):
                    notify(arm.key, task.instance_id, None)
                    continue
                end = await run_episode(
                    task, arm, agent, memory if arm.needs_memory() else None, config.loop,
                    out / arm.key / "trajectories" / f"{task.instance_id}.jsonl",
                    bash_timeout_s=config.bash_timeout_s, do_grade=config.grade,
                    on_step=lambda step, a=arm.key, t=task.instance_id: notify(a, t, step),
                )
                append_result(results, end)
                notify(arm.key, task.instance_id, end)
