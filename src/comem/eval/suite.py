"""What an evaluation runs: task sources x arms x seeds, and the order its episodes go in.

Task sources are strings resolved by the registry in `comem.tasks.sources`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from comem.context import StrategyConfig
from comem.core.errors import ComemError
from comem.eval.config import EvalConfig
from comem.tasks.sources import load_source
from comem.tasks.validate import check_suite

__all__ = ["EvalConfig", "Episode", "plan", "select_tasks"]


def select_tasks(config: EvalConfig) -> list[Any]:
    """Every source's tasks in order, then the `task_ids` filter and the `limit`; each is validated (see
    comem.tasks.validate) unless `validate_tasks` is off or nothing is graded."""
    tasks: list[Any] = []
    where: dict[str, str] = {}
    for source in config.tasks:
        for task in load_source(source):
            if task.instance_id in where:
                raise ComemError(f"Task {task.instance_id!r} appears in {where[task.instance_id]!r} and {source!r}.",
                                 fix="list each task once; results are kept per task id.")
            where[task.instance_id] = source
            tasks.append(task)
    if config.task_ids is not None:
        by_id = {t.instance_id: t for t in tasks}
        unknown = [i for i in config.task_ids if i not in by_id]
        if unknown:
            raise ComemError(f"Unknown task id(s) {', '.join(map(repr, unknown))} in {', '.join(config.tasks)}.",
                             fix=f"use ids from `comem tasks`; available: {', '.join(sorted(by_id))}.")
        tasks = [by_id[i] for i in dict.fromkeys(config.task_ids)]
    tasks = tasks[: config.limit] if config.limit else tasks
    if config.validate_tasks and config.grade:
        check_suite(tasks)  # a task its own gold patch cannot resolve would only lower the success rate
    return tasks


@dataclass(frozen=True)
class Episode:
    """One (task, arm, seed): the unit the engine schedules, times out, and records."""

    task: Any
    arm: StrategyConfig
    seed: int

    @property
    def task_id(self) -> str:
        return self.task.instance_id

    @property
    def key(self) -> tuple[str, str, int]:
        return self.arm.key, self.task_id, self.seed


def plan(config: EvalConfig, tasks: list[Any]) -> list[Episode]:
    """All episodes, arms adjacent for each (task, seed), so machine noise hits the arms alike.

    `task` order: task 1 seed 0 under every arm, task 1 seed 1 ..., then task 2. `shuffle`: the (task, seed)
    groups in a seeded random order (a long run's early results then cover many tasks), arms still adjacent.
    Within the g-th group the arms are rotated by g: the arm that starts a task pays the engine's cold prefill
    of its prompt and the others reuse it from the prefix cache, so every arm must lead equally often.
    """
    groups = [(task, seed) for task in tasks for seed in config.seeds]
    if config.order == "shuffle":
        random.Random(config.order_seed).shuffle(groups)
    arms, n = config.arms, len(config.arms)
    return [Episode(task, arms[(g + i) % n], seed) for g, (task, seed) in enumerate(groups) for i in range(n)]
