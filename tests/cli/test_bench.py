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
