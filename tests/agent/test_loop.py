"""The agent loop with a scripted model against a real workspace: actions run, steps are recorded and
written as they happen, limits and errors end episodes with the right exit reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from comem.agent.loop import Agent, AgentConfig
from comem.context import build_strategy, lookup
from comem.context.base import Clock, Pinned
from comem.core.jsonlog import JsonlLog, read_records
from comem.core.records import Step
from comem.environment.workspace import Workspace
from comem.llm.base import LLMError
from comem.llm.scripted import ScriptedLLM


def call(name: str, **arguments) -> str:
    return "Next step.\n" + json.dumps({"name": name, "arguments": arguments})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return root


def run_agent(repo: Path, script: list, strategy: str = "full", memory: ScriptedLLM | None = None,
              log: Path | None = None, strategy_options: dict | None = None, **config) -> tuple:
    async def go():
        with Workspace.create(repo) as ws:
            arm = lookup(strategy)[1](name=strategy, **(strategy_options or {}))
            writer = JsonlLog(log) if log else None
            strat = build_strategy(arm, Pinned("sys", "task"), Clock(), memory_llm=memory,
                                   on_memory=writer.append if writer else None)
            agent = Agent(ScriptedLLM(script), ws, strat, AgentConfig(**config), Clock(),
                          on_step=writer.append if writer else None)
            outcome = await agent.run()
            return outcome, ws.diff()

    return asyncio.run(go())


def test_fix_and_submit(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "traj.jsonl"
    outcome, diff = run_agent(repo, [
        call("file_editor", command="view", path="calc.py"),
        call("file_editor", command="str_replace", path="calc.py", old_str="a - b", new_str="a + b"),
        call("bash", command="python -c 'import calc; print(calc.add(2, 3))'"),
        call("submit"),
    ], log=log)
    assert outcome.exit_reason == "submitted" and len(outcome.steps) == 4
    assert "5" in outcome.steps[2].observation and "+    return a + b" in diff
    steps = [r for r in read_records(log) if isinstance(r, Step)]
    assert [s.index for s in steps] == [0, 1, 2, 3]  # every step was written as it happened
    assert steps[0].action.name == "file_editor" and steps[0].thought == "Next step."
    assert all(s.finished_s >= s.started_s >= 0 for s in steps)


def test_unparsable_replies_get_a_format_error_then_end(repo: Path) -> None:
    outcome, _ = run_agent(repo, ["I am not sure."] * 3, max_format_errors=3)
    assert outcome.exit_reason == "format_errors"
    assert all(s.format_error and "no valid tool call" in s.observation for s in outcome.steps)


def test_step_limit_and_warnings(repo: Path) -> None:
    outcome, _ = run_agent(repo, [call("bash", command=f"echo {i}") for i in range(4)], max_steps=4,
                           steps_left_warning=2)
    assert outcome.exit_reason == "step_limit" and len(outcome.steps) == 4
    assert "2 steps left" in outcome.steps[1].observation and "1 step left" in outcome.steps[2].observation


def test_repeated_action_is_pointed_out(repo: Path) -> None:
    outcome, _ = run_agent(repo, [call("bash", command="ls")] * 2 + [call("submit")])
    assert "already ran this exact action" not in outcome.steps[0].observation
    assert "already ran this exact action" in outcome.steps[1].observation


def test_llm_error_ends_with_its_reason(repo: Path) -> None:
    outcome, _ = run_agent(repo, [call("bash", command="ls"), LLMError("server gone")])
    assert outcome.exit_reason == "llm_error" and "server gone" in outcome.error and len(outcome.steps) == 1


def test_token_limit_stops_before_sending(repo: Path) -> None:
    outcome, _ = run_agent(repo, [call("bash", command="python -c \"print('x' * 4000)\"")] * 5, max_prompt_tokens=800)
    assert outcome.exit_reason == "token_limit" and 1 <= len(outcome.steps) < 5


def test_memory_runs_while_the_tool_runs(repo: Path, tmp_path: Path) -> None:
    """kso: the summary launched at n=1 overlaps the agent's 1-second tool call, so nothing is exposed."""
    log = tmp_path / "traj.jsonl"
    memory = ScriptedLLM(["a summary"], cycle=True, delay_s=0.5)
    outcome, _ = run_agent(repo, [call("bash", command="true"), call("bash", command="sleep 1"), call("submit")],
                           strategy="kso", memory=memory, log=log, strategy_options={"k": 2})
    assert outcome.exit_reason == "submitted"
    third = outcome.steps[2]
    assert third.summary_id == 0 and third.raw_from == 1
    memory = [r for r in read_records(log) if r.type == "memory"][0]
    assert memory.status == "ok" and memory.finished_s < outcome.steps[1].finished_s  # done while the tool ran
    assert third.memory_wait_s < memory.hidden_s  # so (next to) all of it ran hidden


@pytest.mark.parametrize("view", ["ledger", "both"])
def test_ledger_arm_shows_what_the_steps_touched(repo: Path, view: str) -> None:
    """kso with the ledger, end to end: the real tools' observations become the ledger the agent is shown; with
    a ledger alone no memory model is called (none is given)."""
    memory = ScriptedLLM(["SUMMARY-TEXT"], cycle=True) if view == "both" else None
    agent_llm = ScriptedLLM([
        call("file_editor", command="view", path="calc.py"),
        call("file_editor", command="str_replace", path="calc.py", old_str="a - b", new_str="a + b"),
        call("bash", command="python -c 'import calc; assert calc.add(2, 3) == 6'"),
        call("bash", command="ls"),
        call("submit"),
    ])

    async def go():
        with Workspace.create(repo) as ws:
            arm = lookup("kso")[1](name="kso", k=2, memory_view=view)
            strategy = build_strategy(arm, Pinned("sys", "task"), Clock(), memory_llm=memory)
            return await Agent(agent_llm, ws, strategy, AgentConfig(), Clock()).run()

    outcome = asyncio.run(go())
    assert outcome.exit_reason == "submitted"
    last = agent_llm.requests[-1][1].content  # the task message at step 4: the memory of steps 1-3
    assert '<ledger steps="1-3">' in last and ("<memory_summary" in last) == (view == "both")
    assert "- calc.py: viewed 1-2, edited 2" in last
    assert "`python -c 'import calc; assert calc.add(2, 3) == 6'` -> exit 1" in last
    assert "AssertionError" in last
    assert outcome.steps[4].raw_from == 3
    if view == "ledger":  # extracted, not generated: the agent never waits for it
        assert all(step.memory_wait_s == 0.0 for step in outcome.steps)
