"""The bundled suite is sound: every F2P test fails at base and passes with the gold patch,
every P2P test passes at both."""

from __future__ import annotations

import collections
import shutil
import subprocess
from pathlib import Path

import pytest

from comem.tasks.grading import grade, patch_paths
from comem.tasks.task import Task, bundled_tasks_dir, load_tasks

TASKS = load_tasks()


def _id(task: Task) -> str:
    return task.instance_id


def test_suite_shape():
    assert len(TASKS) >= 12
    ids = [t.instance_id for t in TASKS]
    assert len(ids) == len(set(ids))
    counts = collections.Counter(t.difficulty for t in TASKS)
    assert counts["easy"] >= 4 and counts["medium"] >= 4 and counts["hard"] >= 3, counts
    for task in TASKS:
        assert task.FAIL_TO_PASS and len(task.PASS_TO_PASS) >= 2, task.instance_id
        assert not set(task.FAIL_TO_PASS) & set(task.PASS_TO_PASS), task.instance_id
        assert task.patch.strip() and task.test_patch.strip(), task.instance_id
        assert task.repo_dir == bundled_tasks_dir() / task.instance_id / "repo"


def test_bundled_dir_is_clean_and_small():
    root = bundled_tasks_dir()
    junk = [p for p in root.rglob("*") if p.name in ("__pycache__", ".pytest_cache") or p.suffix == ".pyc"]
    assert not junk, f"remove build artefacts from the bundled tasks: {junk[:5]}"
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 1_000_000, total


@pytest.mark.parametrize("task", TASKS, ids=_id)
def test_statement_does_not_leak_the_tests_or_fix(task: Task):
    statement = task.problem_statement
    for node_id in task.FAIL_TO_PASS:
        test_file, _, name = node_id.partition("::")
        assert name.split("[")[0] not in statement
        assert Path(test_file).name not in statement
    assert "gold" not in statement.lower()


@pytest.mark.parametrize("task", TASKS, ids=_id)
def test_patches_touch_the_right_files(task: Task):
    tests = patch_paths(task.test_patch)
    fixes = patch_paths(task.patch)
    assert tests and all(p.startswith("tests/") for p in tests), tests
    assert fixes and not any(p.startswith("tests/") for p in fixes), fixes
    for node_id in task.FAIL_TO_PASS + task.PASS_TO_PASS:
        test_file = node_id.split("::")[0]
        assert test_file in tests or (task.repo_dir / test_file).is_file(), node_id


@pytest.mark.parametrize("task", TASKS, ids=_id)
def test_task_is_sound(task: Task, tmp_path: Path):
    base = grade(task, task.repo_dir, timeout_s=120)
    assert base.error is None, base.log
    assert not base.resolved
    failing_p2p = [t for t, ok in base.pass_to_pass.items() if not ok]
    passing_f2p = [t for t, ok in base.fail_to_pass.items() if ok]
    assert not passing_f2p, f"F2P tests already pass at base: {passing_f2p}\n{base.log}"
    assert not failing_p2p, f"P2P tests fail at base: {failing_p2p}\n{base.log}"

    work = tmp_path / "work"
    shutil.copytree(task.repo_dir, work)
    gold = tmp_path / "gold.patch"
    gold.write_text(task.patch)
    subprocess.run(["git", "apply", str(gold)], cwd=work, check=True, capture_output=True)
    fixed = grade(task, work, timeout_s=120)
    assert fixed.error is None, fixed.log
    assert fixed.resolved, fixed.log
    assert fixed.elapsed_s > 0  # measured
