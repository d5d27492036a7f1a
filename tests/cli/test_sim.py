"""`comem bench simulate`, `comem bench calibrate` and `comem bench roofline` (cli/sim.py): the command functions,
registered on a throwaway Typer app the way the CLI registers them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))
pytest.importorskip("matplotlib", reason=reason("matplotlib"))

from comem.cli.sim import calibrate, replay_deployment, roofline, simulate
from comem.core.errors import ComemError
from tests.bench.sim.helpers import replay

app = typer.Typer()
app.command("simulate")(simulate)
app.command("calibrate")(calibrate)
app.command("roofline")(roofline)
runner = CliRunner()


def test_simulate_writes_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", "--deployment", "glm-4.7-h200", "--concurrency", "1,2", "--steps", "3",
                                 "--arms", "full,kso-k2,mask", "--out", str(out), "--set",
                                 "workload.distribution.tool_s.median=2"])
    assert result.exit_code == 0, result.output
    with (out / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 3  # offload off/on x 2 concurrencies x 3 arms
    assert "kso-k2" in result.output and "Paper: 1.45-2.08x" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["workload"]["distribution"]["steps"]["median"] == 3


@pytest.mark.parametrize("args", [["--offload", "sometimes"], ["--concurrency", "0,8"], ["--arms", "memagent"],
                                  ["--deployment", "nope"], ["--set", "agent.hardware.n_gpu=-1"]])
def test_simulate_bad_input_raises_comem_error(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--steps", "2", "--concurrency", "1", "--out", str(tmp_path), *args])
    assert isinstance(result.exception, ComemError) and result.exception.fix


def test_calibrate_then_simulate_with_it(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    out.mkdir()
    rows, memory = replay(["full", "kso-k2"], range(2))
    (out / "steps.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows))
    (out / "memory.jsonl").write_text("".join(m.model_dump_json() + "\n" for m in memory))
    result = runner.invoke(app, ["calibrate", str(out), "--deployment", "cpu-qwen2.5-coder", "--set",
                                 "max_model_len=6000"])
    assert result.exit_code == 0, result.output
    assert "meets the 15% goal" in result.output
    cal = json.loads((out / "calibration.json").read_text())
    # attention is compute bound on the CPU device, so mfu (not kv_bw) is what the replay determines
    assert cal["mape_sim"] < 0.01 and cal["efficiency"]["mfu"] == pytest.approx(0.25, rel=0.05)
    result = runner.invoke(app, ["simulate", "--deployment", "cpu-qwen2.5-coder", "--replay", str(out),
                                 "--calibration", str(out / "calibration.json"), "--concurrency", "1",
                                 "--offload", "off", "--arms", "full,kso-k2", "--out", str(tmp_path / "sim")])
    assert result.exit_code == 0, result.output


def test_calibrate_needs_replay_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calibrate", str(tmp_path)])
    assert isinstance(result.exception, ComemError)


def test_calibrate_picks_the_replayed_model(tmp_path: Path) -> None:
    assert replay_deployment(tmp_path) == "cpu-qwen2.5-coder"
    (tmp_path / "config.json").write_text(json.dumps({"workload": {"agent": {"model": "smollm2-135m"}}}))
    assert replay_deployment(tmp_path) == "cpu-smollm2" == replay_deployment(tmp_path / "steps.jsonl")


def test_roofline_prints_every_reference_point() -> None:
    result = runner.invoke(app, ["roofline"])
    assert result.exit_code == 0, result.output
    assert "39 points" in result.output and "within the 15% goal" in result.output
    assert "qwen3-coder-480b-ep8-h200" in result.output and "12.4 ms" in result.output
