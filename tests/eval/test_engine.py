"""The engine: hostile tool output through real workspaces, resume, settings guard, seeds on the wire."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.records import Step
from comem.eval.engine import (
    Events,
    LocalExecutor,
    arm_threads,
    drive,
    hardware_groups,
    prepare,
    run_suite,
    write_config,
)
from comem.eval.results import read_results, trajectory_path
from comem.eval.suite import EvalConfig, plan, select_tasks
from comem.llm.scripted import ScriptedLLM
from tests.eval.standin import StandInServer, model_config


def call(name: str, **arguments: str) -> str:
    return json.dumps({"name": name, "arguments": arguments})


HOSTILE = {  # seed -> the command of that episode's first step
    0: "sleep 60",
    1: "head -c 100000000 /dev/zero | tr '\\0' x",
    2: "printf 'ok \\xff\\xfe\\xc3( bad\\n'",
}


def test_hanging_huge_and_invalid_utf8_tool_output_neither_hangs_nor_crashes_the_run(tmp_path: Path) -> None:
    config = EvalConfig(tasks=["bundled"], task_ids=["semver-bump-minor"], arms=["full"], seeds=list(HOSTILE),
                        concurrency=3, bash_timeout_s=2, grade=False, episode_timeout_s=60)
    episodes = plan(config, select_tasks(config))
    events = Events()
    todo = prepare(config, tmp_path, episodes, events)

    def agent_for(seed: int) -> ScriptedLLM:
        return ScriptedLLM([call("bash", command=HOSTILE[seed]), call("submit")])

    asyncio.run(asyncio.wait_for(drive(config, tmp_path, todo, LocalExecutor(config, tmp_path, agent_for, None),
                                       events), timeout=120))
    results = {r.seed: r for r in read_results(tmp_path / "full" / "results.jsonl")}
    assert sorted(results) == [0, 1, 2] and {r.exit_reason for r in results.values()} == {"submitted"}
    observation = {seed: next(r for r in read_records(trajectory_path(tmp_path / "full", "semver-bump-minor", seed))
                              if isinstance(r, Step)).observation for seed in HOSTILE}
    assert "timed out after 2 s" in observation[0] and results[0].tool_s > 0  # the limit ended it, measured
    assert len(observation[1]) < 200_000 and "xxxxxxxx" in observation[1]
    assert "\ufffd" in observation[2] and "ok " in observation[2] and "bad" in observation[2]


def test_prepare_skips_finished_episodes_and_reports_them(tmp_path: Path) -> None:
    config = EvalConfig(task_ids=["semver-bump-minor", "daterange-len"], arms=["full"], grade=False)
    episodes = plan(config, select_tasks(config))
    agent = lambda seed: ScriptedLLM([call("submit")])  # noqa: E731
    first = prepare(config, tmp_path, episodes[:1], Events())
    asyncio.run(drive(config, tmp_path, first, LocalExecutor(config, tmp_path, agent, None), Events()))
    seen: list[tuple[str, bool]] = []
    todo = prepare(config, tmp_path, episodes, Events(done=lambda e, r, skipped: seen.append((e.task_id, skipped))))
    assert [e.task_id for e in todo] == ["daterange-len"] and seen == [("semver-bump-minor", True)]


def arm_names_in(out: Path) -> list[str]:
    return [a["name"] for a in yaml.safe_load((out / "config.yaml").read_text())["arms"]]


def test_a_resumed_directory_must_keep_each_arms_settings(tmp_path: Path) -> None:
    write_config(tmp_path, EvalConfig(arms=[{"name": "kso", "k": 2}, "full"]))
    write_config(tmp_path, EvalConfig(arms=["full", "mask"]))  # other arms are fine; kso stays on record
    assert arm_names_in(tmp_path) == ["kso", "full", "mask"]
    with pytest.raises(ComemError, match="'kso'"):
        write_config(tmp_path, EvalConfig(arms=[{"name": "kso", "k": 4}]))
    with pytest.raises(ComemError, match="loop"):
        write_config(tmp_path, EvalConfig(arms=["full"], loop={"max_steps": 3}))
    write_config(tmp_path, EvalConfig(arms=[{"name": "kso", "k": 4, "label": "kso-k4"}]))


def test_each_seed_reaches_the_agent_server_and_concurrent_episodes_share_it(tmp_path: Path) -> None:
    server = StandInServer(delay_s=0.05)
    try:
        config = EvalConfig(task_ids=["semver-bump-minor"], arms=["full", {"name": "kso", "k": 1}], seeds=[0, 5],
                            concurrency=4, grade=False, **model_config(server))
        asyncio.run(run_suite(config, tmp_path, plan(config, select_tasks(config))))
    finally:
        server.close()
    assert {q.get("seed") for q in server.requests if q["model"] == "agent"} == {0, 5}
    assert {q.get("seed") for q in server.requests if q["model"] == "memory"} == {None}
    for arm in ("full", "kso"):
        assert sorted(r.seed for r in read_results(tmp_path / arm / "results.jsonl")) == [0, 5]
    assert trajectory_path(tmp_path / "kso", "semver-bump-minor", 5).exists()


def test_an_episode_that_raises_is_recorded_as_an_error_the_run_goes_on_and_a_rerun_retries_it(tmp_path: Path) -> None:
    """The agent deletes the workspace's .git, so recording its patch raises: that used to stop the whole run."""
    config = EvalConfig(task_ids=["semver-bump-minor"], arms=["full"], seeds=[0, 1, 2], concurrency=2, grade=False)
    episodes = plan(config, select_tasks(config))
    breaks = {1: [call("bash", command="rm -rf .git"), call("submit")]}
    agent = lambda seed: ScriptedLLM(breaks.get(seed, [call("submit")]))  # noqa: E731
    asyncio.run(drive(config, tmp_path, prepare(config, tmp_path, episodes, Events()),
                      LocalExecutor(config, tmp_path, agent, None), Events()))
    results = {r.seed: r for r in read_results(tmp_path / "full" / "results.jsonl")}
    assert {seed: r.exit_reason for seed, r in results.items()} == {0: "submitted", 1: "error", 2: "submitted"}
    assert "ComemError" in results[1].error and "git" in results[1].error and not results[1].finished
    end = read_records(trajectory_path(tmp_path / "full", "semver-bump-minor", 1))[-1]
    assert end.exit_reason == "error" and end.steps == 2  # its trajectory says how far it got and why it stopped

    todo = prepare(config, tmp_path, episodes, Events())
    assert [e.seed for e in todo] == [1]  # an error is not a result: the rerun retries it
    breaks.clear()
    asyncio.run(drive(config, tmp_path, todo, LocalExecutor(config, tmp_path, agent, None), Events()))
    assert {r.seed: r.exit_reason for r in read_results(tmp_path / "full" / "results.jsonl")} == {
        0: "submitted", 1: "submitted", 2: "submitted"}


def test_memory_arms_run_apart_only_when_the_split_changes_the_agents_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    arms = ["full", {"name": "kso", "k": 1}, "mask"]

    def groups(**models: object) -> list[list[str]]:
        config = EvalConfig(task_ids=["semver-bump-minor"], arms=arms, grade=False, **models)
        return [[e.arm.key for e in g] for g in hardware_groups(config, plan(config, select_tasks(config)))]

    own = {"model": "qwen2.5-coder-0.5b"}  # a memory server of its own
    assert groups(memory=own) == [["full", "mask"], ["kso"]]  # embedded: full and mask get 4 threads, kso's agent 3
    assert groups(agent={"model": "a", "url": "http://127.0.0.1:1/v1"}, memory=own) == [["full", "kso", "mask"]]
    assert groups(memory={"model": "m", "url": "http://127.0.0.1:1/v1"}) == [["full", "kso", "mask"]]
    assert groups(agent={"model": "qwen2.5-coder-0.5b", "threads": 2}, memory=own) == [["full", "kso", "mask"]]
    assert groups() == [["full", "kso", "mask"]]  # the default `memory: agent`: one engine for both roles
    # ... and the speed sentence says which cores each kind of arm had
    assert arm_threads(EvalConfig(memory=own)) == (4, 3, 1)  # equal hardware
    assert arm_threads(EvalConfig(memory={"model": "m", "url": "http://127.0.0.1:1/v1"})) == (4, 4, None)
    assert arm_threads(EvalConfig(agent={"model": "qwen2.5-coder-0.5b", "threads": 1},
                                  memory={"model": "qwen2.5-coder-0.5b", "threads": 1})) == (1, 1, 1)
    assert arm_threads(EvalConfig()) == (4, 4, 0)
