"""What an evaluation runs: task sources x arms x seeds, and the order its episodes go in.

Task sources are strings resolved by the registry in `comem.tasks.sources`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from comem.core.errors import ComemError
from comem.eval.config import ArmConfig, RunConfig
from comem.tasks.sources import BUNDLED, load_source


class EvalConfig(RunConfig):
    """A `comem run` configuration plus what scale needs: several sources, seeds, concurrency, timeouts.

    `comem run` is the special case `tasks: [one source]`, `seeds: [0]`, `concurrency: 1`.
    """

    model_config = ConfigDict(extra="forbid")  # a typo (`seed:` for `seeds:`) must not silently do nothing

    tasks: list[str] = Field(default_factory=lambda: [BUNDLED])  # type: ignore[assignment]
    seeds: list[int] = Field(default_factory=lambda: [0])
    concurrency: int = Field(default=1, ge=1)  # episodes in flight (embedded servers get this many slots)
    episode_timeout_s: float | None = Field(default=None, gt=0)  # hard limit per episode -> exit "time_limit"
    order: Literal["task", "shuffle"] = "task"  # task-major, or a seeded shuffle of (task, seed) groups
    order_seed: int = 0

    @field_validator("tasks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return [BUNDLED]
        return [value] if isinstance(value, str) else value

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"seeds must be a non-empty list of distinct integers, got {value}")
        return value

    @classmethod
    def from_run(cls, config: RunConfig) -> EvalConfig:
        """`comem run`'s configuration as an evaluation: its one source, seed 0, one episode at a time."""
        return cls.model_validate({**config.model_dump(), "tasks": [config.tasks or BUNDLED]})


def select_tasks(config: EvalConfig) -> list[Any]:
    """Every source's tasks in order, then the `task_ids` filter and the `limit`."""
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
    return tasks[: config.limit] if config.limit else tasks


@dataclass(frozen=True)
class Episode:
    """One (task, arm, seed): the unit the engine schedules, times out, and records."""

    task: Any
    arm: ArmConfig
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
