"""Deciding whether a mutant makes a task, and checking each written task the way it will be graded.

A mutant is run against only the tests that execute its lines (from the coverage contexts of the
baseline run): a test that never runs the mutated code cannot see the bug, so this loses nothing and
keeps each trial to a handful of tests. The covering tests that fail become FAIL_TO_PASS. Each written
task is then graded twice with `comem.tasks.grading.grade`: the buggy repo must fail every FAIL_TO_PASS
test and pass every PASS_TO_PASS test, and the repo with gold.patch applied must be resolved.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from pathlib import Path

from comem.tasks.synth.mutate import Mutation
from comem.tasks.synth.runner import SuiteRun, run_tests
from comem.tasks.task import load_tasks
from comem.tasks.validate import validate_task


@dataclass
class Trial:
    """One mutant run against the tests that cover it."""

    mutation: Mutation
    mutated: str  # the mutated file text
    failing: list[str]  # covering tests that fail: the FAIL_TO_PASS candidates
    run: SuiteRun
    rejected: str | None  # why it makes no task ("survived", "timed out", ...), None if it does


def try_mutant(repo: Path, mutation: Mutation, original: str, tests: list[str], command: str,
               timeout_s: float) -> Trial:
    """Write the mutant into the work copy, run `tests`, put the original back."""
    mutated = mutation.apply(original)
    try:
        ast.parse(mutated)
    except SyntaxError:
        return Trial(mutation, mutated, [], SuiteRun(), rejected="not valid Python")
    target = repo / mutation.path
    target.write_text(mutated, encoding="utf-8", newline="")
    try:
        run = run_tests(repo, command, tests, timeout_s)
    finally:
        target.write_text(original, encoding="utf-8", newline="")
    failing = sorted(t for t in tests if t in run.tests and run.tests[t].outcome == "failed")
    if run.timed_out:
        return Trial(mutation, mutated, failing, run, rejected="timed out")
    if run.collect_errors or any(t not in run.tests for t in tests):
        return Trial(mutation, mutated, failing, run, rejected="tests no longer collect")
    return Trial(mutation, mutated, failing, run, rejected=None if failing else "survived")


def pass_to_pass(trial: Trial, passed: set[str], rng: random.Random, limit: int) -> list[str]:
    """A bounded sample of the tests in the FAIL_TO_PASS files that pass both before and with the bug."""
    files = {t.split("::")[0] for t in trial.failing}
    pool = sorted(
        t for t in passed
        if t.split("::")[0] in files and t not in trial.failing
        and (t not in trial.run.tests or trial.run.tests[t].outcome == "passed")
    )
    return sorted(rng.sample(pool, min(limit, len(pool))))


def check_task(task_dir: Path, timeout_s: float) -> str | None:
    """None if grading agrees that the written task is valid, else what is wrong with it."""
    return validate_task(load_tasks(task_dir)[0], timeout_s=timeout_s).problem
