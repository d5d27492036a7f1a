"""Run directories for the viewer's tests: one written by the real engine with scripted models, and hand-made
damaged ones (a torn tail, an episode still running, a missing results line, a symlink out)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeStart, Step, ToolCall
from comem.eval.engine import Events, LocalExecutor, drive, prepare
from comem.eval.suite import EvalConfig, plan, select_tasks
from comem.llm.scripted import ScriptedLLM

TASK = "semver-bump-minor"
SUMMARY = "Listed semverlite/ and found `bump_minor` in semverlite/version.py; the tests fail."


def call(name: str, **arguments: str) -> str:
    return json.dumps({"name": name, "arguments": arguments})


SCRIPT = [
    call("bash", command="ls semverlite tests"),
    call("bash", command="grep -n bump_minor semverlite/version.py"),
    call("bash", command="python -m pytest -q tests/test_version.py 2>&1 | tail -5"),
    call("bash", command="sed -i 's/self.minor + 1, self.patch)/self.minor + 1, 0)/' semverlite/version.py"),
    call("bash", command="python -m pytest -q tests/test_version.py 2>&1 | tail -3"),
    call("submit"),
]


ARMS = ("full", {"name": "kso", "k": 2}, {"name": "mask", "keep_last": 1})


def scripted_run(out: Path, arms: tuple = ARMS, grade: bool = True) -> dict[str, ScriptedLLM]:
    """The bundled semver task under `arms`, run by the real engine (workspace, tools, grader) with a scripted
    agent (20 ms a call) and a scripted memory model (60 ms a summary). Returns each arm's agent, which recorded
    the messages it was sent."""
    config = EvalConfig(task_ids=[TASK], arms=list(arms), grade=grade)
    episodes = plan(config, select_tasks(config))
    events = Events()
    todo = prepare(config, out, episodes, events)
    memory = ScriptedLLM([SUMMARY], cycle=True, delay_s=0.06, model="memory")
    agents: list[ScriptedLLM] = []

    def agent_for(seed: int) -> ScriptedLLM:  # one episode at a time, in `todo` order
        agents.append(ScriptedLLM(SCRIPT, delay_s=0.02))
        return agents[-1]

    asyncio.run(drive(config, out, todo, LocalExecutor(config, out, agent_for, memory), events))
    return {episode.arm.key: agent for episode, agent in zip(todo, agents, strict=True)}


def live_session(out: Path, arm: str = "kso", session: str = "sess-1", steps: int = 3) -> Path:
    """A gateway-style session still running: a start line and steps, no result; the last line torn."""
    path = out / arm / "trajectories" / f"{session}.jsonl"
    with JsonlLog(path) as log:
        log.append(EpisodeStart(instance_id=session, strategy=arm, system_prompt="You are an agent.",
                                task_prompt="Fix the bug.", config={"strategy": {"name": "full"}}))
        for i in range(steps):
            log.append(Step(index=i, thought=f"look {i}", response=call("bash", command=f"cat f{i}.py"),
                            action=ToolCall(name="bash", arguments={"command": f"cat f{i}.py"}), observation="ok",
                            agent_ttft_s=0.1, agent_total_s=0.3, tool_s=0.2, started_s=i, finished_s=i + 0.5))
    with path.open("ab") as fh:
        fh.write(b'{"type": "step", "index": 3, "thou')  # a line still being written
    return path


def symlink_out(out: Path, target: Path, arm: str = "full") -> None:
    """A trajectory file that is a symlink to a file outside the directory."""
    link = out / arm / "trajectories" / "evil.jsonl"
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def replay_dir(out: Path, steps: int = 6) -> Path:
    """A replay directory written with the replay's own row types and writer: full and kso-k2 at concurrency 1,
    one trajectory each, kso with a memory call per two steps."""
    from comem.bench.records import MemoryRow, RunTiming, StepRow
    from comem.core.jsonlog import append_jsonl

    out.mkdir(parents=True, exist_ok=True)
    rows, memory, runs = [], [], []
    for arm, call_s in (("full", 0.4), ("kso-k2", 0.25)):
        t = 0.0
        for i in range(steps):
            wait = 0.05 if arm != "full" and i % 2 == 0 and i else 0.0
            rows.append(StepRow(arm=arm, concurrency=1, agent=0, trajectory="traj-a", step=i, agent_ttft_s=0.1,
                                agent_total_s=call_s, tool_s=0.3, memory_wait_s=wait, prompt_tokens=500 + 100 * i,
                                started_s=t, finished_s=t + wait + call_s + 0.3))
            t += wait + call_s + 0.3
            if arm != "full" and i % 2 == 1:
                memory.append(MemoryRow(arm=arm, concurrency=1, agent=0, trajectory="traj-a", id=len(memory),
                                        covers=(0, i), launch_step=i, status="ok", launched_s=t - 0.3,
                                        finished_s=t + 0.1, exposed_wait_s=0.05))
        runs.append(RunTiming(arm=arm, concurrency=1, wall_s=t, steps=steps, trajectory_wall_s=t, prompt_tokens=0,
                              cached_tokens=None))
    append_jsonl(out / "steps.jsonl", rows)
    append_jsonl(out / "memory.jsonl", memory)
    append_jsonl(out / "runs.jsonl", runs)
    return out
