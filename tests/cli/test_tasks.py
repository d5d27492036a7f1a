"""`comem tasks validate`: every task graded at its base and with its gold patch; unsound ones named."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from comem.cli.main import app
from comem.tasks.task import bundled_tasks_dir
from tests.tasks.helpers import broken_copy


def test_validate_names_the_broken_task_and_exits_2(tmp_path: Path) -> None:
    broken_copy(tmp_path)
    shutil.copytree(bundled_tasks_dir() / "daterange-len", tmp_path / "suite" / "daterange-len")
    result = CliRunner().invoke(app, ["tasks", "validate", str(tmp_path / "suite")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "gold resolves 1/2, base resolves 0/2; 1/2 tasks sound" in result.output
    assert "1 of 2 tasks are not sound: semver-bump-minor" in result.output


def test_validate_a_sound_task_dir(tmp_path: Path) -> None:
    shutil.copytree(bundled_tasks_dir() / "daterange-len", tmp_path / "daterange-len")
    result = CliRunner().invoke(app, ["tasks", "validate", str(tmp_path / "daterange-len")])
    assert result.exit_code == 0 and "1/1 tasks sound" in result.output
