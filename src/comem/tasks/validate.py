"""Is a task sound? Graded as an episode would be: the base repository must fail and the gold patch must resolve.

A task whose own gold patch does not resolve it can never be solved, and one whose base already passes is solved
by doing nothing; either makes a success rate meaningless. `validate_task` grades both states with
`comem.tasks.grading.grade`, the grader episodes use: the base must fail every FAIL_TO_PASS test and pass every
PASS_TO_PASS test, and the repository with the gold patch applied must be resolved. A task without a gold patch
gets the base check only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from comem.core.errors import ComemError
from comem.tasks.grading import GradeResult, git_apply, grade
from comem.tasks.task import Task


class Validation(BaseModel):
    """The verdict on one task: `problem` is None when the task is sound."""

    instance_id: str
    base_resolved: bool
    gold_resolved: bool | None  # None: the task has no gold patch, so only its base was checked
    problem: str | None = None
    elapsed_s: float = 0.0


def validate_task(task: Task, timeout_s: float = 300) -> Validation:
    """Grade the base repository and the gold-patched one; say what is wrong, if anything."""
    buggy = grade(task, task.repo_dir, timeout_s=timeout_s)
    elapsed = buggy.elapsed_s

    def verdict(gold_resolved: bool | None, problem: str | None) -> Validation:
        return Validation(instance_id=task.instance_id, base_resolved=buggy.resolved, gold_resolved=gold_resolved,
                          problem=problem, elapsed_s=round(elapsed, 3))

    if not task.patch.strip():
        return verdict(None, _base_problem(buggy))
    with tempfile.TemporaryDirectory(prefix="comem-validate-") as tmp:
        fixed = Path(tmp) / "repo"
        shutil.copytree(task.repo_dir, fixed, symlinks=True)
        applied, output = git_apply(task.patch, fixed, Path(tmp))
        if not applied:
            return verdict(False, f"gold.patch does not apply: {output[-300:]}")
        gold = grade(task, fixed, timeout_s=timeout_s)
    elapsed += gold.elapsed_s
    problem = _base_problem(buggy)
    if problem is not None:
        return verdict(gold.resolved, problem)
    if not gold.resolved:
        failing = [t for t, ok in {**gold.fail_to_pass, **gold.pass_to_pass}.items() if not ok]
        return verdict(False, f"the gold patch does not resolve it: {gold.error or ', '.join(failing[:3])}")
    return verdict(True, None)


def _base_problem(buggy: GradeResult) -> str | None:
    if buggy.error:
        return f"grading the buggy repo failed: {buggy.error}"
    if any(buggy.fail_to_pass.values()):
        return "a FAIL_TO_PASS test passes on the buggy repo"
    if not all(buggy.pass_to_pass.values()):
        return "a PASS_TO_PASS test fails on the buggy repo"
    return None


def validate_suite(tasks: list[object], timeout_s: float = 300,
                   on_result: Callable[[Validation], None] | None = None) -> list[Validation]:
    """`validate_task` for every local repository task (other kinds are graded elsewhere), in order;
    `on_result` sees each verdict as it is made."""
    results = []
    for task in tasks:
        if isinstance(task, Task):
            results.append(validate_task(task, timeout_s=timeout_s))
            if on_result is not None:
                on_result(results[-1])
    return results


def check_suite(tasks: list[object], timeout_s: float = 300) -> list[Validation]:
    """Validate a suite; a task that is not sound stops it with one error naming each such task and what is
    wrong with it."""
    results = validate_suite(tasks, timeout_s)
    bad = [r for r in results if r.problem is not None]
    if bad:
        lines = "; ".join(f"{r.instance_id}: {r.problem}" for r in bad)
        raise ComemError(f"{len(bad)} of {len(results)} tasks are not sound ({lines}).",
                         fix="fix or remove them (`comem tasks validate SOURCE` checks a suite), or set "
                             "`validate_tasks: false` to run them anyway.")
    return results
