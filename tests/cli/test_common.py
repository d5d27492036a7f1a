"""The helpers every command shares: comma-separated options, one-line errors, the interrupted exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from comem.cli.common import csv_list, friendly, int_list, interrupted
from comem.core.errors import ComemError


def test_csv_list_drops_blanks_and_keeps_none_for_a_missing_option() -> None:
    assert csv_list(" a, b,,c ") == ["a", "b", "c"]
    assert csv_list(None) is None and csv_list("") is None


def test_int_list_names_the_flag_and_the_bound() -> None:
    assert int_list("1, 2,8", "--concurrency") == [1, 2, 8]
    assert int_list(None, "--seeds") is None
    with pytest.raises(ComemError, match="--seeds takes comma-separated integers"):
        int_list("0,x", "--seeds")
    with pytest.raises(ComemError, match=">= 1"):
        int_list("0,2", "--concurrency", minimum=1)


def test_a_comem_error_is_one_line_with_its_fix_and_exit_2() -> None:
    app = typer.Typer()

    @app.command()
    @friendly
    def broken() -> None:
        raise ComemError("The thing is wrong.", fix="pass --right [x].")

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "error: The thing is wrong." in result.output and "fix: pass --right [x]." in result.output


def test_interrupted_says_where_the_work_is_and_exits_130(tmp_path: Path) -> None:
    exit_ = interrupted(tmp_path)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 130
