"""Runner logic with scripted engines: closed-loop job sharing, resume, and workload checks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from comem.bench.figures import figures, replay_figures
from comem.bench.records import RunTiming
from comem.bench.replay.arms import extra_hardware_baseline, instant_twin, parse_arm
from comem.bench.replay.report import extra_hardware_figures
from comem.bench.replay.runner import (
    ReplayConfig,
    arm_order,
    check_context,
    completed_runs,
    prepare_out_dir,
    prune_incomplete,
    read_rows,
    replay_run,
    server_groups,
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


def test_equal_hardware_gives_every_arm_the_same_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    config = ReplayConfig(arms=["full", "full-nocache", "kso-k2", "mask"], extra_hardware=True)
    threads = {a.label: config.threads(a) for a in config.replay_arms()}
    assert threads == {"full": (8, None), "full-nocache": (8, None), "mask": (8, None), "kso-k2": (6, 2),
                       "kso-k2@instant-memory": (6, None), "full@agent-cores": (6, None)}
    assert sum(x or 0 for x in threads["kso-k2"]) == threads["full"][0]  # the memory arm splits the same cores


def test_servers_restart_only_between_groups_that_share_a_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    config = ReplayConfig(arms=["full", "kso-k2", "mask", "kso-k4"], repeats=2)
    arms = config.replay_arms()
    plan = [(1, r, a) for r in range(2) for a in arm_order(arms, 1, r, 0)]
    groups = server_groups(plan, config)
    assert [p for _, g in groups for p in g] != [] and sorted(
        (c, r, a.label) for _, g in groups for c, r, a in g) == sorted((c, r, a.label) for c, r, a in plan)
    assert all(config.threads(a) == split for split, g in groups for _, _, a in g)
    assert len(groups) <= 2 * 3  # per repeat, at most one group per split: (2), (1, 1), (1, -)
    assert all(a != b for (a, _), (b, _) in zip(groups, groups[1:], strict=False))


def test_the_instant_twin_never_calls_the_memory_model_and_gives_s_star() -> None:
    recs = [recording(8)]
    agent, memory = ScriptedLLM(["x"], cycle=True, delay_s=0.002), ScriptedLLM(["SUMMARY"], cycle=True)
    config = ReplayConfig(memory_max_tokens=5)
    kso = parse_arm("kso-k2", {"memory_max_tokens": 5})
    twin = instant_twin(kso)
    rows, asked = [], {}
    for arm in (parse_arm("full"), kso, twin):
        before = len(memory.requests)
        steps, mem, run_ = asyncio.run(replay_run(recs, arm, 1, 0, agent, memory, config, threads=(1, 1)))
        rows += steps
        asked[arm.label] = len(memory.requests) - before
        assert run_.agent_threads == 1 and {s.agent_threads for s in steps} == {1}
        assert run_.memory_threads == (1 if arm is kso else None)  # the twin starts no memory server
        if arm is twin:
            ok = [m for m in mem if m.status == "ok"]
            assert ok and all(m.summary_tokens == 5 and m.exposed_wait_s == 0 for m in ok)
    assert asked["full"] == asked["kso-k2@instant-memory"] == 0 < asked["kso-k2"]
    figs = {f.arm: f for f in replay_figures(rows)}
    assert set(figs) == {"full", "kso-k2"}  # the twin is no arm of its own
    assert figs["kso-k2"].s_star is not None and not figs["kso-k2"].s_star_same_run
    same_run = {f.arm: f for f in figures(r for r in rows if r.arm != twin.label)}
    assert same_run["kso-k2"].s_star_same_run


def test_a_ledger_view_replays_kso_without_a_memory_model() -> None:
    """`memory_view: ledger` times the arm a user runs with the extracted ledger: no memory call, no twin, and
    the ledger in the agent's prompt where the summary would be."""
    config = ReplayConfig(arms=["full", "kso-k2"], memory_view="ledger", ledger_tokens=64)
    arms = {a.label: a for a in config.replay_arms()}
    assert set(arms) == {"full", "kso-k2"} and arms["kso-k2"].strategy.memory_view == "ledger"
    agent, memory = ScriptedLLM(["x"], cycle=True), ScriptedLLM(["SUMMARY"], cycle=True)
    steps, mem, run_ = asyncio.run(replay_run([recording(8)], arms["kso-k2"], 1, 0, agent, memory, config,
                                              threads=(2, None)))
    assert memory.requests == [] and run_.memory_threads is None
    assert mem[0].status == "ok" and all(m.summary_tokens == 0 for m in mem)  # extracted, not generated
    last = "\n".join(m.content for m in agent.requests[-1])
    assert "<ledger steps=" in last and "SUMMARY" not in last
    with pytest.raises(ValueError, match="memory_view"):
        ReplayConfig(memory_view="everything")


def test_the_extra_hardware_figure_is_against_the_confined_baseline() -> None:
    recs = [recording(4)]
    agent, memory = ScriptedLLM(["x"], cycle=True), ScriptedLLM(["SUMMARY"], cycle=True)
    rows = []
    for arm in (parse_arm("full"), extra_hardware_baseline(), parse_arm("kso-k2")):
        rows += asyncio.run(replay_run(recs, arm, 1, 0, agent, memory, ReplayConfig()))[0]
    extra = {f.arm: f for f in extra_hardware_figures(rows)}
    assert set(extra) == {"full@agent-cores", "kso-k2"} and extra["kso-k2"].s_e2e is not None
    assert {f.arm for f in replay_figures(rows)} == {"full", "kso-k2"}
    assert extra_hardware_figures([r for r in rows if r.arm != "full@agent-cores"]) == []
