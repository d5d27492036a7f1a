"""Trajectory shapes from replay rows, recorded trajectories and distributions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

from comem.bench.records import StepRow
from comem.bench.sim.agents import Arm
from comem.bench.sim.simulate import run_arm
from comem.bench.sim.workload import (
    MESSAGE_OVERHEAD,
    DistributionSpec,
    cap_context,
    read_steps,
    shapes_from_distribution,
    shapes_from_recorded,
    shapes_from_replay,
)
from comem.core.errors import ComemError
from comem.core.records import Step
from comem.trajectories.sources import RecordedTrajectory
from tests.bench.sim.helpers import shape, tiny_config

TRAJ = shape("t", 40, [(5, 12, 0.5), (8, 0, 1.0), (3, 30, 0.0), (9, 7, 2.0)])


def test_replay_rows_give_back_the_shape() -> None:
    rows = run_arm(tiny_config(["full"]), Arm.parse("full", 2), [TRAJ]).steps
    rows += run_arm(tiny_config(["mask"]), Arm.parse("mask", 2), [TRAJ]).steps  # other arms are ignored
    [got] = shapes_from_replay(rows)
    assert got.head_tokens == TRAJ.head_tokens
    assert [s.output_tokens for s in got.steps] == [s.output_tokens for s in TRAJ.steps]
    assert [s.observation_tokens for s in got.steps] == [12, 0, 30, 0]  # the last one never reaches a prompt
    assert [s.tool_s for s in got.steps] == [s.tool_s for s in TRAJ.steps]


def test_replay_needs_complete_full_arm() -> None:
    rows = run_arm(tiny_config(["full"]), Arm.parse("full", 2), [TRAJ]).steps
    with pytest.raises(ComemError):
        shapes_from_replay([r for r in rows if r.step != 1])
    with pytest.raises(ComemError):
        shapes_from_replay([r.model_copy(update={"arm": "kso-k2"}) for r in rows])


def test_distribution_is_seeded_and_prefix_stable() -> None:
    spec = DistributionSpec()
    small, large = shapes_from_distribution(spec, 3, seed=1), shapes_from_distribution(spec, 6, seed=1)
    assert small == large[:3] and shapes_from_distribution(spec, 3, seed=2) != small
    for s in large:
        assert 30 <= len(s.steps) <= 100
        assert all(100 <= x.output_tokens <= 2000 and 100 <= x.observation_tokens <= 3000 for x in s.steps)
        assert all(1.0 <= x.tool_s <= 30.0 for x in s.steps)


def test_fixed_steps_with_zero_sigma() -> None:
    spec = DistributionSpec.model_validate({"steps": {"median": 60, "lo": 30, "hi": 100, "sigma": 0}})
    assert {len(s.steps) for s in shapes_from_distribution(spec, 5)} == {60}


def test_cap_context_cuts_at_the_limit() -> None:
    assert cap_context(TRAJ, 10_000) is TRAJ
    cut = cap_context(TRAJ, 40 + 17 + 8 + 8 + 3)  # steps 0, 1 fit; step 2's output would pass it
    assert len(cut.steps) == 3
    with pytest.raises(ComemError):
        cap_context(TRAJ, 44)


def test_recorded_trajectories_are_estimated() -> None:
    step = Step(index=0, thought="t", response="x" * 40, action=None, observation="y" * 400, tool_s=1.5)
    [got] = shapes_from_recorded([RecordedTrajectory(name="r", system="s" * 80, task="q" * 20, steps=[step])])
    assert got.head_tokens == 20 + 5 + 2 * MESSAGE_OVERHEAD
    assert got.steps[0].output_tokens == 10 + MESSAGE_OVERHEAD
    assert got.steps[0].observation_tokens == 100 + MESSAGE_OVERHEAD
    assert got.steps[0].tool_s == 1.5


def test_read_steps(tmp_path: Path) -> None:
    rows = run_arm(tiny_config(["full"]), Arm.parse("full", 2), [TRAJ]).steps
    (tmp_path / "steps.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows))
    assert read_steps(tmp_path) == rows
    (tmp_path / "bad.jsonl").write_text('{"arm": "full"}\n')
    with pytest.raises(ComemError, match="bad.jsonl:1"):
        read_steps(tmp_path / "bad.jsonl")
    with pytest.raises(ComemError):
        read_steps(tmp_path / "missing.jsonl")
    assert isinstance(rows[0], StepRow)
