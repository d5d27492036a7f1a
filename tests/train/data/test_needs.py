"""Records whose next action needs a name only the summarised outputs hold (train/data/needs.py), and the
`--needs-outputs` filter of `comem train data grpo` on the kept trajectories."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.records import Step, ToolCall
from comem.train.data.build import build_grpo_records
from comem.train.data.needs import output_only_names
from comem.train.reward.needed_names import kept_share
from comem.trajectories.sources import RecordedTrajectory
from tests.extras import requires
from tests.train.data.test_committed_trajectories import SET


def step(i: int, name: str, arguments: dict, observation: str) -> Step:
    return Step(index=i, thought="", response=f"reply {i}", action=ToolCall(name=name, arguments=arguments),
                observation=observation)


def records(target: ToolCall) -> list:
    steps = [
        step(0, "search", {"search_term": "parse_range"}, "calc/ranges.py:57: def parse_range(text):"),
        step(1, "bash", {"command": "python -m pytest -q"}, "FAILED tests/test_ranges.py::test_open_end"),
        step(2, "bash", {"command": "ls"}, "calc tests"),
        Step(index=3, thought="", response="next", action=target, observation=""),
    ]
    trajectory = RecordedTrajectory(name="t", system="You fix bugs.", task="Fix `parse_range` in calc.", steps=steps)
    return build_grpo_records([trajectory], retain=1)


def test_a_name_only_an_old_output_printed_is_needed() -> None:
    view = ToolCall(name="file_editor", arguments={"command": "view", "path": "calc/ranges.py",
                                                   "view_range": [57, 70]})
    record = next(r for r in records(view) if r.target_step == 3)
    assert output_only_names(record) == ["57", "calc/ranges.py"]  # from step 0's output only
    rerun = ToolCall(name="bash", arguments={"command": "python -m pytest -q tests/test_ranges.py::test_open_end"})
    assert output_only_names(next(r for r in records(rerun) if r.target_step == 3)) == ["test_open_end",
                                                                                 "tests/test_ranges.py"]


def test_kept_share_is_the_share_of_those_names_a_context_shows() -> None:
    view = ToolCall(name="file_editor", arguments={"command": "view", "path": "calc/ranges.py",
                                                   "view_range": [57, 70]})
    record = next(r for r in records(view) if r.target_step == 3)
    assert kept_share(output_only_names(record), "The bug is in calc/ranges.py, line 57.") == 1.0
    assert kept_share(output_only_names(record), "The bug is in calc/ranges.py.") == 0.5
    assert kept_share(output_only_names(record), "Tests failed.") == 0.0
    ls = next(r for r in records(ToolCall(name="bash", arguments={"command": "ls"})) if r.target_step == 3)
    assert kept_share(output_only_names(ls), "anything") is None  # it needs nothing: no share to score


def test_names_from_the_task_the_calls_or_the_raw_window_are_not() -> None:
    for target in (ToolCall(name="search", arguments={"search_term": "parse_range"}),  # the task and a call
                   ToolCall(name="bash", arguments={"command": "ls calc tests"})):  # the raw step's output
        assert all(output_only_names(r) == [] for r in records(target))


def test_needs_outputs_keeps_those_records_and_the_manifest_counts_them(tmp_path: Path) -> None:
    requires("pyarrow", "train")
    args = ["train", "data", "grpo", str(SET), "--retain", "1", "--eval-fraction", "0.3", "--seed", "42"]
    every = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "all")])
    kept = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "needing"), "--needs-outputs"])
    assert every.exit_code == kept.exit_code == 0, every.output + kept.output
    assert "6 train / 0 eval candidates" in every.output
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("all", "needing")]
    assert manifests[0]["needing_outputs"] == manifests[1]["needing_outputs"] == {"train": 6, "eval": 0}
    assert manifests[0]["records"] == {"train": 123, "eval": 49} and manifests[1]["records"] == {"train": 6, "eval": 0}
