"""Without the `bench` extra, `comem bench` commands say what to install (and `comem run` is unaffected)."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from comem.cli.main import app


@pytest.mark.parametrize("args", [["bench", "simulate"], ["bench", "calibrate", "somewhere"], ["bench", "replay"]])
def test_missing_bench_extra_is_one_clear_error(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("numpy", "matplotlib") else real(name, *a))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "not installed" in result.output and ".[bench]" in result.output


@pytest.mark.parametrize(("args", "message", "fix"), [
    (["--prefixes", "8192,512", "--n-ctx", "4096"], "above --n-ctx", "smaller --prefixes"),
    (["--prefixes", "512"], "two or more distinct", "--prefixes 512,2048"),
    (["--threads", "0"], "--threads", ">= 1"),
    (["--curve", "x"], "No such option", ""),
])
def test_bench_curve_refuses_bad_settings_before_any_engine_starts(args: list[str], message: str, fix: str,
                                                                  tmp_path) -> None:
    result = CliRunner().invoke(app, ["bench", "curve", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output and fix in result.output, result.output
    assert not (tmp_path / "logs").exists()


def test_replay_names_a_bad_curve_file(tmp_path) -> None:
    bad = tmp_path / "curve.json"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["bench", "replay", "--curve", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "Cannot read an engine curve" in result.output, result.output
    empty = CliRunner().invoke(app, ["bench", "replay", "--curve", str(tmp_path / "r"), "--out", str(tmp_path / "r")])
    assert empty.exit_code == 2, empty.output
    assert not (tmp_path / "r").exists()
