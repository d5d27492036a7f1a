"""`comem eval` through the real embedded SmolLM2 servers (2 tasks x 2 arms, 2 episodes in flight), then
`comem report` on its directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, MemoryRecord, Step
from comem.eval.engine import Events, hardware_groups, prepare, run_suite
from comem.eval.results import read_results, trajectory_path
from comem.eval.suite import Episode, EvalConfig, plan, select_tasks
from comem.report.write import write_report
from tests.extras import missing, needs_model

runner = CliRunner()
SMOL = {"model": "smollm2-135m", "n_ctx": 4096}
TASKS = ["semver-bump-minor", "unitconv-fahrenheit"]
SMOL_INSTALLED = needs_model("smollm2-135m")


@pytest.mark.slow
@SMOL_INSTALLED
def test_eval_then_report_with_embedded_servers(tmp_path: Path) -> None:
    config, out = tmp_path / "eval.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump({
        "tasks": ["bundled"], "task_ids": TASKS, "seeds": [0], "concurrency": 2, "episode_timeout_s": 300,
        "arms": ["full", {"name": "kso", "k": 1, "memory_max_tokens": 32}],
        "agent": SMOL, "memory": SMOL, "loop": {"max_steps": 2, "max_tokens": 48}}))
    first = runner.invoke(app, ["eval", str(config), "--out", str(out)])
    assert first.exit_code == 0, first.output
    for arm in ("full", "kso"):
        results = read_results(out / arm / "results.jsonl")
        assert sorted(r.instance_id for r in results) == TASKS and all(r.resolved is not None for r in results)
        for r in results:
            records = read_records(trajectory_path(out / arm, r.instance_id, 0))
            steps = [s for s in records if isinstance(s, Step)]
            assert isinstance(records[-1], EpisodeEnd) and len(steps) == r.steps >= 1
            assert all(s.prompt_tokens > 0 and s.agent_total_s > 0 for s in steps)
    memory = [m for t in TASKS for m in read_records(trajectory_path(out / "kso", t, 0)) if isinstance(m, MemoryRecord)]
    assert memory and all(m.covers == (0, 1) for m in memory)  # launched after step 1; 2 steps end the episode

    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    rows = {r["arm"]: r for r in json.loads((out / "summary.json").read_text())}
    assert rows["full"]["episodes"] == rows["kso"]["episodes"] == 2 and rows["kso"]["speedup_pairs"] == 2
    kso_memory = rows["kso"]["memory"]
    assert kso_memory["updates"] + kso_memory["failures"] + kso_memory["superseded"] == len(memory)
    assert rows["kso"]["speedup_step"] > 0
    summary = (out / "summary.md").read_text()
    assert "## Identifier retention" in summary
    if missing("matplotlib"):  # without the bench extra the report says so instead of drawing
        assert "comem[bench]" in summary and not (out / "step_latency.png").exists()
    else:
        assert (out / "step_latency.png").exists()


def server_pid(role: str) -> int:
    """The pid of this process's embedded server for `role` (its alias is `role:<model>`)."""
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"comem.llm.embedded_worker" in argv and f"{role}:".encode() in b" ".join(argv):
            return int(entry.name)
    raise AssertionError(f"no {role} server running")


def kill_at_first_step(role: str) -> Events:
    killed: list[int] = []

    def step(episode: Episode, step: Step) -> None:
        if not killed:
            killed.append(server_pid(role))
            os.kill(killed[0], signal.SIGKILL)

    return Events(step=step)


@pytest.mark.slow
@SMOL_INSTALLED
def test_a_killed_agent_server_stops_the_run_and_its_episode_is_not_a_result(tmp_path: Path) -> None:
    """It used to end `llm_error`, counted as finished (a rerun skipped it), and the run exited 0."""
    config = EvalConfig(tasks=["bundled"], task_ids=TASKS, arms=["full"], grade=False, episode_timeout_s=120,
                        agent={**SMOL, "max_retries": 1}, loop={"max_steps": 3, "max_tokens": 16})
    episodes = plan(config, select_tasks(config))
    with pytest.raises(ComemError, match="agent model server stopped answering") as info:
        asyncio.run(run_suite(config, tmp_path, episodes, kill_at_first_step("agent")))
    assert "agent-server.log" in info.value.fix and f"--out {tmp_path}" in info.value.fix
    [result] = read_results(tmp_path / "full" / "results.jsonl")
    assert result.exit_reason == "llm_unreachable" and not result.finished
    assert [e.task_id for e in prepare(config, tmp_path, episodes, Events())] == TASKS  # a rerun runs both


@pytest.mark.slow
@SMOL_INSTALLED
def test_a_killed_memory_server_is_restarted_and_the_summary_says_so(tmp_path: Path) -> None:
    """The kso arm used to run on without memory for the rest of the run, silently."""
    config = EvalConfig(tasks=["bundled"], task_ids=TASKS[:1], arms=[{"name": "kso", "k": 1, "memory_max_tokens": 16}],
                        grade=False, episode_timeout_s=120, agent=SMOL, memory={**SMOL, "max_retries": 0},
                        loop={"max_steps": 3, "max_tokens": 16})
    asyncio.run(run_suite(config, tmp_path, plan(config, select_tasks(config)), kill_at_first_step("memory")))
    [result] = read_results(tmp_path / "kso" / "results.jsonl")
    memory = [r for r in read_records(trajectory_path(tmp_path / "kso", TASKS[0], 0)) if isinstance(r, MemoryRecord)]
    assert result.finished and memory[0].status == "ok"  # launched after the kill, served by the restarted server
    assert {r.status for r in memory} <= {"ok", "superseded"}
    write_report(tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Incidents" in summary and "memory:smollm2-135m server (exit code -9) died and was restarted" in summary


def threads_of(pid: int) -> int:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return int(argv[argv.index("--threads") + 1])


@pytest.mark.slow
@SMOL_INSTALLED
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the memory arms' split equals every core")
def test_the_full_arm_gets_every_core_and_the_memory_arm_splits_them(tmp_path: Path) -> None:
    """`full` used to run beside the memory arms on the split's agent share, one core idle (unequal hardware)."""
    config = EvalConfig(tasks=["bundled"], task_ids=TASKS[:1], arms=["full", {"name": "kso", "k": 1}], grade=False,
                        episode_timeout_s=120, agent=SMOL, memory=SMOL, loop={"max_steps": 2, "max_tokens": 16})
    episodes = plan(config, select_tasks(config))
    assert [[e.arm.key for e in group] for group in hardware_groups(config, episodes)] == [["full"], ["kso"]]
    seen: dict[str, set[int]] = {}

    def step(episode: Episode, step: Step) -> None:
        seen.setdefault(episode.arm.key, set()).add(threads_of(server_pid("agent")))

    asyncio.run(run_suite(config, tmp_path, episodes, Events(step=step)))
    cores = os.cpu_count() or 1
    assert seen == {"full": {cores}, "kso": {config.thread_plan(True)[0]}} and config.thread_plan(True)[0] < cores


@pytest.mark.slow
@SMOL_INSTALLED
def test_the_memory_model_agent_is_served_by_the_agents_engine_on_every_core(tmp_path: Path) -> None:
    """`memory: agent`: no second server; the agent's engine, on every core, has a slot for the memory's requests."""
    config = EvalConfig(tasks=["bundled"], task_ids=TASKS[:1], arms=["full", {"name": "kso", "k": 1,
                        "memory_max_tokens": 16}], grade=False, episode_timeout_s=120, agent=SMOL,
                        memory={"model": "agent"}, loop={"max_steps": 3, "max_tokens": 16})
    episodes = plan(config, select_tasks(config))
    assert [[e.arm.key for e in group] for group in hardware_groups(config, episodes)] == [["full", "kso"]]
    servers: set[tuple[int, int, int]] = set()

    def step(episode: Episode, step: Step) -> None:
        pid = server_pid("agent")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        servers.add((pid, threads_of(pid), int(argv[argv.index("--n-parallel") + 1])))

    asyncio.run(run_suite(config, tmp_path, episodes, Events(step=step)))
    assert len(servers) == 1 and next(iter(servers))[1:] == (os.cpu_count() or 1, 2)  # one engine, two slots
    assert not (tmp_path / "logs" / "memory-server.log").exists()
    memory = [r for r in read_records(trajectory_path(tmp_path / "kso", TASKS[0], 0)) if isinstance(r, MemoryRecord)]
    assert memory and memory[0].status == "ok" and memory[0].summary  # served by the agent's engine
