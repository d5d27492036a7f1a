"""Runner logic with scripted engines: closed-loop job sharing, resume, and workload checks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from comem.bench.records import RunTiming
from comem.bench.replay.arms import parse_arm
from comem.bench.replay.runner import (
    ReplayConfig,
    arm_order,
    check_context,
    completed_runs,
    prepare_out_dir,
    prune_incomplete,
    read_rows,
    replay_run,
)
from comem.core.errors import ComemError
from comem.core.jsonlog import append_jsonl
from comem.llm.scripted import ScriptedLLM
from tests.bench.replay.helpers import recording


def run(concurrency: int, trajectories: int = 2, arm: str = "kso-k2"):
    recs = [recording(4).model_copy(update={"name": f"t{i}"}) for i in range(trajectories)]
    agent, memory = ScriptedLLM(["x"], cycle=True), ScriptedLLM(["SUMMARY"], cycle=True, delay_s=0.005)
    return asyncio.run(replay_run(recs, parse_arm(arm), concurrency, 0, agent, memory, ReplayConfig()))


def test_one_agent_replays_every_trajectory_and_many_agents_share_them() -> None:
    steps, memory, result = run(1)
    assert [(s.agent, s.trajectory) for s in steps][::4] == [(0, "t0"), (0, "t1")]
    assert result.steps == 8 and memory
    steps, _, result = run(3)
    assert sorted((s.agent, s.trajectory) for s in steps if s.step == 0) == [(0, "t0"), (1, "t1"), (2, "t0")]
    assert result.steps == 12 and result.trajectory_wall_s > 0 and result.engine_cache_hit_rate is None


def test_arm_order_is_seeded_and_covers_every_arm() -> None:
    arms = [parse_arm(a) for a in ("full", "mask", "kso-k2", "kso-k4")]
    first = [a.label for a in arm_order(arms, 1, 0, seed=0)]
    assert first == [a.label for a in arm_order(arms, 1, 0, seed=0)]
    assert sorted(first) == sorted(a.label for a in arms)
    assert len({tuple(a.label for a in arm_order(arms, 1, r, seed=0)) for r in range(6)}) > 1


def test_resume_keeps_completed_runs_and_drops_a_torn_one(tmp_path: Path) -> None:
    config = ReplayConfig(arms=["kso-k2"])
    prepare_out_dir(tmp_path, config)
    steps, memory, result = run(1)
    append_jsonl(tmp_path / "steps.jsonl", steps)
    append_jsonl(tmp_path / "memory.jsonl", memory)
    append_jsonl(tmp_path / "runs.jsonl", [result])
    torn = [s.model_copy(update={"arm": "full"}) for s in steps[:3]]  # rows of a run killed before its end line
    append_jsonl(tmp_path / "steps.jsonl", torn)
    with (tmp_path / "runs.jsonl").open("a") as fh:
        fh.write('{"arm": "full", "concu')  # and a torn last line
    assert completed_runs(tmp_path) == {("kso-k2", 1, 0)}
    prune_incomplete(tmp_path)
    kept, kept_memory, runs = read_rows(tmp_path)
    assert len(kept) == len(steps) and {s.arm for s in kept} == {"kso-k2"}
    assert len(kept_memory) == len(memory) and [r.arm for r in runs] == ["kso-k2"]
    assert all(isinstance(r, RunTiming) for r in runs)


def test_a_different_workload_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    prepare_out_dir(tmp_path, ReplayConfig(steps=4))
    prepare_out_dir(tmp_path, ReplayConfig(steps=4, arms=["full"], concurrency=[1, 2]))  # more arms: fine
    with pytest.raises(ComemError, match="different workload"):
        prepare_out_dir(tmp_path, ReplayConfig(steps=5))
    assert "api_key" not in json.loads((tmp_path / "config.json").read_text())["workload"]["agent"]


def test_a_history_longer_than_the_context_is_refused_before_any_engine_starts() -> None:
    config = ReplayConfig()
    config.agent.n_ctx = 300
    with pytest.raises(ComemError, match="above the agent context") as err:
        check_context([recording(6)], config)
    assert "--steps" in str(err.value.fix)
