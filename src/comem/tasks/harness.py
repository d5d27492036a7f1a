"""How one kind of task becomes an episode: its environment, the two pinned prompts, and its grader.

The agent loop and the context strategies never know what kind of task they run. A harness binds a task type
to the environment its tools act on (a local git workspace, a Docker container, a document index), the
prompts the agent starts from, and the verdict at the end (hidden tests, an LLM judge). Register one per task
type with `register_harness`; `harness_for(task)` picks it by the task's class.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from pydantic import BaseModel

from comem.agent.loop import Outcome
from comem.context.base import Pinned
from comem.core.errors import ComemError
from comem.environment.base import Environment


class Verdict(BaseModel):
    """The grader's answer. `resolved` is None when the episode was not graded."""

    resolved: bool | None
    error: str | None = None
    detail: dict[str, Any] = {}


class Harness(Protocol):
    def open(self, task: Any, *, bash_timeout_s: float) -> Environment:
        """A fresh environment for one episode; closed by the caller with `env.close()`."""

    def pinned(self, task: Any, env: Environment) -> Pinned:
        """The system prompt and the task prompt the agent starts from."""

    async def grade(self, task: Any, env: Environment, outcome: Outcome) -> Verdict:
        """Judge the finished episode. Never raises on a failed attempt: that is `resolved=False`."""


_HARNESSES: dict[type, Harness] = {}


def register_harness(task_type: type, harness: Harness) -> None:
    _HARNESSES[task_type] = harness


def harness_for(task: Any) -> Harness:
    for cls in type(task).__mro__:
        if cls in _HARNESSES:
            return _HARNESSES[cls]
    raise ComemError(f"No harness runs tasks of type {type(task).__name__}.",
                     fix="register one with comem.tasks.harness.register_harness.")


class LocalRepoHarness:
    """SWE-style tasks whose repository is a local folder: a git workspace, the repo prompts, hidden tests."""

    def open(self, task: Any, *, bash_timeout_s: float) -> Environment:
        from comem.environment.workspace import Workspace

        return Workspace.create(task.repo_dir, bash_timeout_s=bash_timeout_s)

    def pinned(self, task: Any, env: Environment) -> Pinned:
        from comem.tasks.prompts import pinned_prompts

        return pinned_prompts(task, env.tool_specs, env.root)

    async def grade(self, task: Any, env: Environment, outcome: Outcome) -> Verdict:
        from comem.tasks.grading import grade

        if not env.root.is_dir():
            return Verdict(resolved=False, error="the agent deleted its workspace")
        result = await asyncio.to_thread(grade, task, env.root)
        return Verdict(resolved=result.resolved, error=result.error,
                       detail={"fail_to_pass": result.fail_to_pass, "pass_to_pass": result.pass_to_pass})


def _register_builtin() -> None:
    from comem.tasks.task import Task

    register_harness(Task, LocalRepoHarness())


_register_builtin()
