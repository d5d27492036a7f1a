"""The whole pipeline on a tiny real package: tasks are written, load, and grade as the benchmark grades them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from comem.core.errors import ComemError
from comem.tasks.grading import grade
from comem.tasks.synth.mutate import Mutation
from comem.tasks.synth.package import REGISTRY, resolve
from comem.tasks.synth.pipeline import _schedule, _variety_first, synthesize
from comem.tasks.task import load_tasks
from tests.tasks.synth.helpers import CALC, calc_files, git_apply, make_package

FAILING = "from calc import mean\n\n\ndef test_mean():\n    assert mean([1, 3]) == 3\n"


def test_synthesised_tasks_load_and_grade(calc_package: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    events: list[str] = []
    report = synthesize(str(calc_package), out, n=2, seed=0, on_progress=lambda e, _r: events.append(e))
    assert len(report.written) == 2 and report.tests == 6 and report.attempted >= 2
    assert events[0].startswith("running the package's own tests")
    tasks = load_tasks(out)
    assert sorted(t.instance_id for t in tasks) == sorted(report.written)
    for task in tasks:
        meta = yaml.safe_load((out / task.instance_id / "task.yaml").read_text())["synth"]
        assert meta["file"] == "src/calc/__init__.py" and meta["function"] in {"clamp", "mean", "initials"}
        assert task.FAIL_TO_PASS and set(task.FAIL_TO_PASS).isdisjoint(task.PASS_TO_PASS)
        assert task.test_command.startswith("PYTHONPATH=src ")
        # hidden tests: the files of the failing tests are not in repo/, the test patch adds them back
        hidden = {t.split("::")[0] for t in task.FAIL_TO_PASS}
        assert all(not (task.repo_dir / f).exists() for f in hidden)
        assert {f for f in calc_files() if f.startswith("tests/")} - hidden <= {
            p.relative_to(task.repo_dir).as_posix() for p in task.repo_dir.rglob("test_*.py")}
        # the statement reports the symptom: no test names, no mutation
        names = {t.split("::")[-1] for t in task.FAIL_TO_PASS}
        assert not any(name in task.problem_statement for name in names)
        assert meta["operator"] not in task.problem_statement and "mutat" not in task.problem_statement
        assert any(f"calc.{fn}(" in task.problem_statement or f"{fn}(" in task.problem_statement
                   for fn in ("clamp", "mean", "initials"))
        # only the mutated file differs from the original package, by a small patch
        buggy = (task.repo_dir / "src/calc/__init__.py").read_text()
        assert buggy != CALC and (task.repo_dir / "pyproject.toml").read_text() == calc_files()["pyproject.toml"]
        assert sum(line.startswith(("+", "-")) for line in task.patch.splitlines()) <= 6

        broken = grade(task, task.repo_dir)
        assert broken.error is None and not broken.resolved, broken.log
        assert not any(broken.fail_to_pass.values()) and all(broken.pass_to_pass.values())
        fixed = tmp_path / "fixed" / task.instance_id
        shutil.copytree(task.repo_dir, fixed)
        git_apply(task.patch, fixed)
        assert (fixed / "src/calc/__init__.py").read_text() == CALC
        assert grade(task, fixed).resolved


def test_schedule_is_deterministic_and_takes_turns() -> None:
    candidates = [(Mutation("m.py", f, op, (i, i), ()), [f"t::{f}{i}"])
                  for f in "abc" for op in ("comparison", "return_none") for i in range(3)]
    first = [m for m, _ in _schedule(candidates, seed=0)]
    assert first == [m for m, _ in _schedule(candidates, seed=0)] and len(first) == 18
    assert {m.operator for m in first[:2]} == {"comparison", "return_none"}  # operators take turns
    comparisons = [m for m in first if m.operator == "comparison"]
    assert {m.function for m in comparisons[:3]} == {"a", "b", "c"}  # one per function before any second
    assert first != [m for m, _ in _schedule(candidates, seed=1)]


def test_variety_first_defers_crowded_functions_and_operators() -> None:
    a1, a2 = Mutation("m.py", "a", "comparison", (1, 1), ()), Mutation("m.py", "a", "return_none", (2, 2), ())
    b1, c1 = Mutation("m.py", "b", "comparison", (3, 3), ()), Mutation("m.py", "c", "return_none", (4, 4), ())
    accepted: list[Mutation] = []
    order = []
    for mutation, _ in _variety_first(iter([(a1, []), (a2, []), (b1, []), (c1, [])]), accepted, per_operator=1):
        order.append(mutation)
        if mutation is a1:
            accepted.append(a1)  # a task: its function and (with per_operator=1) its operator are now taken
    assert order == [a1, c1, a2, b1]


@pytest.mark.parametrize(("files", "message"), [
    ({"calc.py": CALC}, "has no tests"),
    ({"calc.py": CALC, "tests/test_calc.py": FAILING}, "fails 1 of its own 1 tests unmodified"),
    ({"calc.py": CALC, "tests/test_calc.py": "import not_installed_anywhere\n\ndef test_x():\n    pass\n"},
     "fails its own tests unmodified: collecting tests/test_calc.py"),
    ({"calc.py": CALC, "speedups.c": "int main(void) { return 0; }\n"}, "not pure Python"),
    ({"README": "no code here\n"}, "holds no Python files"),
])
def test_bad_packages_are_one_clear_error(tmp_path: Path, files: dict[str, str], message: str) -> None:
    package = make_package(tmp_path / "pkg", {"pyproject.toml": "[tool.pytest.ini_options]\n", **files})
    with pytest.raises(ComemError, match=message) as info:
        synthesize(str(package), tmp_path / "out", n=1)
    assert info.value.fix


def test_bad_arguments_are_one_clear_error(tmp_path: Path, calc_package: Path) -> None:
    with pytest.raises(ComemError, match="Unknown package 'no-such-package-anywhere'"):
        synthesize("no-such-package-anywhere", tmp_path / "out")
    with pytest.raises(ComemError, match="neither a directory nor a PyPI package name"):
        synthesize("./not/a/dir", tmp_path / "out")
    with pytest.raises(ComemError, match="at least 1"):
        synthesize(str(calc_package), tmp_path / "out", n=0)


@pytest.mark.slow
def test_real_pinned_sdist(tmp_path: Path) -> None:
    """Through a real PyPI sdist (pinned, hash-checked, cached after the first download)."""
    try:
        resolve("inflection")
    except ComemError as exc:
        if "Could not download" in exc.message:
            pytest.skip(f"PyPI is unreachable, so the pinned sdist cannot be fetched: {exc.message}")
        raise
    out = tmp_path / "tasks"
    report = synthesize("inflection", out, n=2, seed=0)
    assert report.version == REGISTRY["inflection"].version and report.tests > 300 and len(report.written) == 2
    for task in load_tasks(out):
        assert task.test_command == "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -o addopts="
        assert not (task.repo_dir / "test_inflection.py").exists() and "inflection." in task.problem_statement
        assert not grade(task, task.repo_dir).resolved
        fixed = tmp_path / "fixed" / task.instance_id
        shutil.copytree(task.repo_dir, fixed)
        git_apply(task.patch, fixed)
        assert grade(task, fixed).resolved
