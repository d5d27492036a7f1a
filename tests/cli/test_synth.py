"""`comem tasks synth` (cli/synth.py) through the real CLI; `comem tasks [SOURCE]` keeps listing suites."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from comem.cli.main import app

runner = CliRunner()


def test_synth_writes_tasks_that_comem_tasks_lists(calc_package: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    result = runner.invoke(app, ["tasks", "synth", str(calc_package), "--out", str(out), "--n", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "1 tasks from calc ->" in result.output and "mutants" in result.output and "rejected:" in result.output
    (task_dir,) = [p for p in out.iterdir() if p.is_dir()]
    listed = runner.invoke(app, ["tasks", str(out)])
    assert listed.exit_code == 0 and task_dir.name in listed.output and "returns a wrong result" in listed.output


def test_tasks_without_a_subcommand_still_lists_the_bundled_suite() -> None:
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "semver-bump-minor" in result.output


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tasks", "synth", "no-such-package-anywhere", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Unknown package 'no-such-package-anywhere'" in result.output
    assert "fix:" in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["tasks", "synth", str(tmp_path)])
    assert missing.exit_code == 2 and "--out" in missing.output
