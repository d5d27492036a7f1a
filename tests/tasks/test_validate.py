"""Task validation: a sound task fails at its base and is resolved by its gold patch, graded as episodes are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.eval.config import EvalConfig
from comem.eval.suite import select_tasks
from comem.tasks.task import bundled_tasks_dir, load_tasks
from comem.tasks.validate import check_suite, validate_task
from tests.tasks.helpers import broken_copy


def test_a_bundled_task_is_sound() -> None:
    result = validate_task(load_tasks(ids=["unitconv-fahrenheit"])[0])
    assert result.problem is None and result.gold_resolved and not result.base_resolved


def test_a_gold_patch_that_fixes_nothing_is_named(tmp_path: Path) -> None:
    task = load_tasks(broken_copy(tmp_path))[0]
    result = validate_task(task)
    assert result.gold_resolved is False and result.problem.startswith("the gold patch does not resolve it")


def test_without_a_gold_patch_only_the_base_is_checked(tmp_path: Path) -> None:
    target = broken_copy(tmp_path)
    (target / "gold.patch").unlink()
    result = validate_task(load_tasks(target)[0])
    assert result.problem is None and result.gold_resolved is None


def test_a_suite_with_an_unsound_task_does_not_run(tmp_path: Path) -> None:
    broken_copy(tmp_path)
    shutil.copytree(bundled_tasks_dir() / "daterange-len", tmp_path / "suite" / "daterange-len")
    with pytest.raises(ComemError, match="1 of 2 tasks are not sound .*semver-bump-minor: the gold patch"):
        check_suite(load_tasks(tmp_path / "suite"))
    config = EvalConfig(tasks=[str(tmp_path / "suite")])
    with pytest.raises(ComemError, match="semver-bump-minor"):
        select_tasks(config)
    off = EvalConfig(tasks=[str(tmp_path / "suite")], validate_tasks=False)
    assert len(select_tasks(off)) == 2
