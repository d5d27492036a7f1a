"""Test runs for synthesis: per-test coverage contexts, timeouts, collection errors, the recorded command."""

from __future__ import annotations

from pathlib import Path

from comem.tasks.synth.package import SourceTree
from comem.tasks.synth.runner import command_for, covering_tests, is_test_code, run_tests


def test_coverage_names_the_tests_that_execute_each_line(calc_package: Path, tmp_path: Path) -> None:
    command = command_for(SourceTree("calc", None, calc_package, None, "src"))
    data = tmp_path / "coverage.data"
    run = run_tests(calc_package, command, None, 120, coverage_data=data)
    assert len(run.with_outcome("passed")) == 6
    lines = covering_tests(data, calc_package)
    assert list(lines) == ["src/calc/__init__.py"]  # test code is never a mutation target
    by_line = lines["src/calc/__init__.py"]
    clamp = "tests/test_clamp.py::"
    assert by_line[6] == {clamp + "test_below"}  # `return lo`
    assert by_line[8] == {clamp + "test_above", clamp + "test_custom_bounds"}  # `return hi`
    assert by_line[13] == {"tests/test_text.py::TestMean::test_mean"}  # mean's body
    assert 4 not in by_line  # `def clamp` runs at import time, outside any test


def test_a_hanging_run_is_killed(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_hang.py").write_text("def test_hang():\n    while True:\n        pass\n")
    run = run_tests(tmp_path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest", None, timeout_s=3)
    assert run.timed_out and run.elapsed_s > 0 and not run.tests  # only the timeout ends an endless loop


def test_collection_errors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bad.py").write_text("import not_installed_anywhere\n")
    run = run_tests(tmp_path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest", None, timeout_s=60)
    assert list(run.collect_errors) == ["tests/test_bad.py"]
    assert "not_installed_anywhere" in run.collect_errors["tests/test_bad.py"]


def test_command_turns_plugins_and_addopts_off_and_sets_the_src_path(tmp_path: Path) -> None:
    flat = command_for(SourceTree("x", None, tmp_path, None, None))
    assert flat == "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -o addopts="
    assert command_for(SourceTree("x", None, tmp_path, None, "src")) == "PYTHONPATH=src " + flat


def test_test_code_is_recognised_by_its_path() -> None:
    for rel in ("tests/test_a.py", "tests/helpers.py", "pkg/test/data.py", "conftest.py", "test_inflection.py",
                "pkg/module_test.py", "toolz/tests/test_x.py"):
        assert is_test_code(rel), rel
    for rel in ("pkg/testing_utils.py", "src/pkg/core.py", "contest.py", "pkg/latest.py"):
        assert not is_test_code(rel), rel
