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
    result = CliRunner().invoke(app, ["bench", "curve", "--from", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # each curve alone, then equal hardware with separate servers, then one engine for both roles
    assert result.output.count("S* bound 60 steps") == 4
    assert "kso's agent on 1 threads, full on 2" in result.output and not (tmp_path / "logs").exists()
    from comem.cli.bench import memory_template_tokens, read_curves
    from comem.core.metrics import HorizonShape, one_engine_bound

    every = read_curves(tmp_path)[2]
    shape = HorizonShape(head_tokens=1000, step_tokens=300, summary_tokens=128)
    rows = table_rows(result.output, "kso bound with its memory model on the agent's own engine")
    assert [r[0] for r in rows] == ["4, incremental", "4, from_scratch"]
    for row, memory_input in zip(rows, ("incremental", "from_scratch"), strict=True):
        expected = one_engine_bound(every, shape, 60, 4, memory_input, memory_template_tokens())
        assert row[3] == f"{expected:.2f}"


def write_curve(path, threads: int, append_s: float, per_cached_s: float, per_new_s: float, model: str = "m") -> None:
    from comem.bench.engine_curve import CurveResult
    from comem.core.metrics import EngineCurve

    path.mkdir(exist_ok=True)
    curve = EngineCurve(model=model, threads=threads, new_tokens=300, output_tokens=80, append_s=append_s,
                        per_cached_s=per_cached_s, per_new_s=per_new_s, prefill_s=append_s)
    (path / f"curve-{threads}.json").write_text(CurveResult(curve=curve, points=[]).model_dump_json())


def table_rows(output: str, title: str) -> list[list[str]]:
    """The body rows of the rich table whose title starts with `title`, as lists of cells."""
    lines = output[output.index(title):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("│"):
            break
        body.append([cell.strip() for cell in line.strip("│").split("│")])
    return body


def test_bench_curve_checks_the_memory_update_against_its_slack(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from comem.cli.bench import memory_template_tokens, read_curves
    from comem.core.metrics import HorizonShape, last_launch, memory_call_s, memory_slack_s

    monkeypatch.setattr("os.cpu_count", lambda: 2)  # kso's agent on 1 thread, its memory model on the other
    write_curve(tmp_path / "agent", 1, 10.0, 1.5e-3, 0.012)
    write_curve(tmp_path / "agent", 2, 6.0, 0.9e-3, 0.007)
    write_curve(tmp_path / "memory", 1, 2.0, 5e-4, 2e-3, model="small")
    result = CliRunner().invoke(app, ["bench", "curve", "--from", str(tmp_path / "agent"), "--memory-from",
                                      str(tmp_path / "memory"), "--k", "1,4"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps titles and long lines
    assert "memory small on 1 threads, kso's agent m on 1 threads" in text
    agent, memory = (read_curves(tmp_path / d)[1] for d in ("agent", "memory"))
    shape, template = HorizonShape(head_tokens=1000, step_tokens=300, summary_tokens=128), memory_template_tokens()
    expected = []
    for steps in (30, 60, 100):
        for k in (1, 4):
            n = last_launch(steps, k)
            scratch, inc = (memory_call_s(memory, shape, n, k, mode, template) for mode in ("from_scratch",
                                                                                           "incremental"))
            slack = memory_slack_s(agent, shape, n, k)
            hides = ", ".join(m for m, c in (("from_scratch", scratch), ("incremental", inc)) if c <= slack)
            expected.append([str(steps), str(k), str(n), f"{scratch:.1f}", f"{inc:.1f}", f"{slack:.1f}",
                             hides or "neither"])
    rows = table_rows(result.output, "memory update against its slack")
    assert rows == expected
    # by hand: from_scratch reads 1072 + (n - k)·300 cached tokens at 0.5 ms each, so by 100 steps (about 17.5 s)
    # it outgrows the 13.0 s slack; incremental stays at 3.0 s (k=1) and 4.7 s (k=4)
    assert [r[-1] for r in rows] == ["from_scratch, incremental"] * 4 + ["incremental"] * 2
    assert ("memory input on this machine from step 30 on: incremental is cheaper than from_scratch; an update hides "
            "in one agent step with k=1 at 30, 60, 100 steps; k=4 at 30, 60, 100 steps.") in text


def test_without_a_memory_curve_the_model_stands_in_for_its_memory(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    write_curve(tmp_path, 1, 5.5, 1.7e-3, 0.0139)
    result = CliRunner().invoke(app, ["bench", "curve", "--from", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "this model's own curve stands in; pass --memory-from" in text
    assert [r[-1] for r in table_rows(result.output, "memory update against its slack")] == ["neither"] * 3
    assert "incremental is cheaper than from_scratch; no update hides in one agent step" in text


def test_a_bad_memory_curve_is_one_clear_error(tmp_path) -> None:
    write_curve(tmp_path, 1, 5.5, 1.7e-3, 0.0139)
    result = CliRunner().invoke(app, ["bench", "curve", "--from", str(tmp_path), "--memory-from",
                                      str(tmp_path / "missing")])
    assert result.exit_code == 2, result.output
    assert "Cannot read an engine curve from" in result.output and "missing" in result.output
    assert "Traceback" not in result.output and "memory update" not in result.output
