"""The per-episode time limit on a real workspace."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace

from comem.context import parse_arm
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, EpisodeStart, Step
from comem.eval.scheduler import run_one
from comem.eval.suite import Episode, EvalConfig
from comem.llm.scripted import ScriptedLLM
from comem.tasks.task import load_tasks

FULL = parse_arm("full")


def fake_episodes(n: int) -> list[Episode]:
    return [Episode(SimpleNamespace(instance_id=f"t{i}"), FULL, 0) for i in range(n)]


def call(name: str, **arguments: str) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def test_a_hung_tool_hits_the_episode_time_limit_and_its_process_dies(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    agent = ScriptedLLM([call("bash", command="ls"), call("bash", command=f"echo $$ > {pid_file}; exec sleep 60")])
    task = load_tasks(ids=["semver-bump-minor"])[0]
    config = EvalConfig(episode_timeout_s=3, bash_timeout_s=120, grade=True, arms=[FULL])
    path = tmp_path / "full" / "trajectories" / "semver-bump-minor.seed2.jsonl"
    result = asyncio.run(run_one(Episode(task, FULL, 2), agent, None, config, path))
    assert (result.exit_reason, result.steps, result.seed, result.resolved) == ("time_limit", 1, 2, False)
    assert "time limit" in result.error and "not graded" in result.grade_error
    assert result.wall_s >= config.episode_timeout_s  # ran until the limit stopped it (the hung tool never ends)
    records = read_records(path)
    assert isinstance(records[0], EpisodeStart) and isinstance(records[-1], EpisodeEnd)
    assert records[-1].exit_reason == "time_limit" and sum(isinstance(r, Step) for r in records) == 1
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def test_a_model_call_that_never_returns_hits_the_time_limit(tmp_path: Path) -> None:
    agent = ScriptedLLM([call("submit")], delay_s=60)
    task = load_tasks(ids=["semver-bump-minor"])[0]
    config = EvalConfig(episode_timeout_s=1, grade=False, arms=[FULL])
    result = asyncio.run(run_one(Episode(task, FULL, 0), agent, None, config, tmp_path / "t.jsonl"))
    assert (result.exit_reason, result.steps, result.resolved, result.grade_error) == ("time_limit", 0, None, None)


def test_without_a_time_limit_the_episode_ends_normally(tmp_path: Path) -> None:
    agent = ScriptedLLM([call("bash", command="echo hi"), call("submit")])
    task = load_tasks(ids=["semver-bump-minor"])[0]
    config = EvalConfig(grade=False, arms=[FULL])
    path = tmp_path / "t.jsonl"
    path.write_text('{"type": "step", "stale": "from an unfinished earlier attempt"}\n')
    result = asyncio.run(run_one(Episode(task, FULL, 0), agent, None, config, path))
    assert (result.exit_reason, result.steps) == ("submitted", 2)
    assert [type(r).__name__ for r in read_records(path)] == ["EpisodeStart", "Step", "Step", "EpisodeEnd"]
