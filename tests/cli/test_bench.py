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


def test_bench_curve_prints_the_bounds_of_saved_curves(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from comem.bench.engine_curve import CurveResult
    from comem.core.metrics import EngineCurve

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    for threads, scale in ((1, 1.0), (2, 0.6)):
        curve = EngineCurve(model="m", threads=threads, new_tokens=300, output_tokens=80, append_s=10 * scale,
                            per_cached_s=1.5e-3 * scale, per_new_s=0.012 * scale, prefill_s=9 * scale)
        (tmp_path / f"curve-{threads}.json").write_text(CurveResult(curve=curve, points=[]).model_dump_json())
    result = CliRunner().invoke(app, ["bench", "curve", "--from", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.count("S* bound 60 steps") == 3  # each curve alone, then equal hardware
    assert "kso's agent on 1 threads, full on 2" in result.output and not (tmp_path / "logs").exists()
