"""`comem train curves` (train/curves.py) through the CLI: runs' metrics.jsonl files in the
form the trainers' MetricsLog writes them (a real TRL run's file is read in tests/train/trainers/test_sft.py),
chained as stages, a PNG out, one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from comem.cli.main import app
from tests.extras import needs

runner = CliRunner()


def write_run(root: Path, kind: str, rows: list[dict]) -> Path:
    """A run directory as `comem train sft|grpo` leaves it: train.json's kind, one metrics line per logged step and
    TRL's closing summary line (which has no per-step values)."""
    root.mkdir(parents=True)
    (root / "train.json").write_text(json.dumps({"kind": kind, "base": "smollm2-135m"}))
    lines = [{"step": i, **row} for i, row in enumerate(rows, 1)] + [{"step": len(rows), "train_runtime": 12.5}]
    (root / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


def test_each_run_shows_its_own_curve_in_windows(tmp_path: Path) -> None:
    sft = write_run(tmp_path / "sft-a", "sft", [{"loss": v, "learning_rate": 1e-4} for v in (4.0, 2.0, 1.0, 0.5, 0.3)])
    grpo = write_run(tmp_path / "grpo-b", "grpo", [{"loss": 0.0, "reward": v} for v in (0.0, 6.0, 3.0)])
    result = runner.invoke(app, ["train", "curves", str(sft), str(grpo), "--every", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "sft-a: 5 steps, loss 4 -> 0.3; means of 2: 3, 0.75, 0.3" in lines  # SFT follows its loss
    assert "grpo-b: 3 steps, reward 0 -> 3; means of 2: 3, 3" in lines  # GRPO its reward
    named = runner.invoke(app, ["train", "curves", str(sft), str(grpo), "--metric", "loss", "--every", "5"])
    assert "grpo-b: 3 steps, loss 0 -> 0; means of 5: 0" in named.output.splitlines()


@needs("matplotlib")
def test_chained_runs_are_drawn_end_to_end(tmp_path: Path) -> None:
    import matplotlib.image

    first = write_run(tmp_path / "stage1", "sft", [{"loss": 2.0 / i} for i in range(1, 21)])
    second = write_run(tmp_path / "stage2", "sft", [{"loss": 0.5 / i} for i in range(1, 31)])
    out = tmp_path / "figs" / "curve.png"
    result = runner.invoke(app, ["train", "curves", str(first), str(second), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"figure: {out}" in result.output.replace("\n", "")
    height, width, _ = matplotlib.image.imread(out).shape
    assert width > 600 and height > 250


@needs("matplotlib")
def test_sft_loss_and_grpo_reward_get_an_axis_each(tmp_path: Path) -> None:
    from comem.train.curves import draw_stages, read_stage

    sft = write_run(tmp_path / "sft", "sft", [{"loss": v} for v in (4.0, 2.0, 1.0, 0.5, 0.3)])
    grpo = write_run(tmp_path / "grpo", "grpo", [{"loss": 0.0, "reward": v} for v in (0.0, 6.0, 3.0)])
    fig = draw_stages([read_stage(sft), read_stage(grpo)], every=2)
    loss, reward = fig.axes
    assert (loss.get_ylabel(), loss.get_yscale()) == ("loss", "log")  # 4 -> 0.3 spans more than a decade
    assert (reward.get_ylabel(), reward.get_yscale()) == ("reward", "linear")
    assert max(y for line in reward.get_lines() for y in line.get_ydata()) == 6.0  # the reward on its own scale
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["sft (loss)", "grpo (reward)"]
    same = draw_stages([read_stage(sft, "loss"), read_stage(grpo, "loss")], every=2)
    assert len(same.axes) == 1 and same.axes[0].get_yscale() == "linear"  # grpo's loss of 0: no log axis
    assert [t.get_text() for t in same.axes[0].get_legend().get_texts()] == ["sft", "grpo"]


def test_bad_runs_get_one_line_naming_the_fix(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", "sft", [{"loss": 1.0, "grad_norm": 0.5}])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss":\n')
    for args, message in (
        ([str(tmp_path / "nowhere")], "has no metrics.jsonl"),
        ([str(run), "--metric", "reward"], "choose --metric from: grad_norm, loss, train_runtime"),
        ([str(broken)], "is not JSON lines"),
        ([str(run), "--every", "0"], "--every"),
    ):
        result = runner.invoke(app, ["train", "curves", *args])
        assert result.exit_code != 0, args
        assert message in result.output and "Traceback" not in result.output, result.output
