"""`comem eval-memory`: the agent's next action under no memory, truncation, each memory model's summary and
the full history, scored against the recorded action; resumable, failures counted apart. Logic with scripted
models, the command against loopback servers, and one run through the real embedded SmolLM2."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from comem.agent.loop import AgentConfig
from comem.cli.common import friendly
from comem.cli.eval_memory import eval_memory_command
from comem.context.memory import MemorySettings
from comem.core.errors import ComemError
from comem.core.records import Message
from comem.llm.base import LLM, LLMError
from comem.llm.endpoint import ModelConfig
from comem.llm.scripted import ScriptedLLM
from comem.train.data.build import build_grpo_records
from comem.train.data.extractive import VIEWS
from comem.train.data.records import GrpoRecord, read_parquet, write_parquet
from comem.train.eval_memory import (
    EvalSettings,
    MemoryCondition,
    baseline_messages,
    eval_memory,
    memory_messages,
    parse_memory_model,
)
from comem.train.eval_report import EvalReport
from comem.train.reward import agent_messages
from comem.trajectories.sources import load_recorded
from tests.extras import needs_model, requires
from tests.train.data.helpers import ACTIONS, OpenAIStandIn, write_run

OUTPUT = re.compile(r"\[(\w+) output (\d+)\]")


def agent_reply(messages: list[Message]) -> str:
    """An agent that acts right only when it can see how its task began (step 0's output): the recorded next
    action, ACTIONS[t % 6]; otherwise it lists files."""
    text = "\n".join(m.content for m in messages)
    seen = [int(i) for _, i in OUTPUT.findall(text)]
    if 0 in seen:
        call = ACTIONS[(max(seen) + 1) % len(ACTIONS)]
        return "Next.\n" + json.dumps({"name": call.name, "arguments": call.arguments})
    return 'Let me look around.\n{"name": "bash", "arguments": {"command": "ls"}}'


def echo_summary(messages: list[Message]) -> str:
    """A memory model that keeps every output marker it was shown."""
    return "The agent saw " + ", ".join(sorted({m.group(0) for m in OUTPUT.finditer(messages[-1].content)}))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    requires("pyarrow", "train")  # the evaluation data is parquet
    root = tmp_path_factory.mktemp("data")
    records = build_grpo_records(load_recorded(write_run(root / "run", {"alpha": 5, "beta": 4})), retain=1)
    write_parquet(root / "eval.parquet", records, GrpoRecord)
    return root / "eval.parquet"


@pytest.fixture(scope="module")
def records(data: Path) -> list[GrpoRecord]:
    return read_parquet(data, GrpoRecord)


def opener_for(models: dict[str, LLM], opened: list[str]):
    @contextlib.asynccontextmanager
    async def opener(spec: ModelConfig, role: str) -> AsyncIterator[LLM]:
        opened.append(role)
        yield models[role]

    return opener


def memories(*labels: str) -> list[MemoryCondition]:
    return [MemoryCondition(label=label, model=ModelConfig(model=label)) for label in labels]


def evaluate(settings: EvalSettings, out: Path, models: dict[str, LLM], opened: list[str] | None = None,
             errors: list | None = None) -> EvalReport:
    opener = opener_for(models, opened if opened is not None else [])
    return asyncio.run(eval_memory(settings, out, opener=opener,
                                   on_error=(lambda k, m: errors.append(k)) if errors is not None else None))


def by_condition(report: EvalReport) -> dict[str, object]:
    return {r.condition: r for r in report.results}


def test_conditions_see_what_they_promise(data: Path, records: list[GrpoRecord], tmp_path: Path) -> None:
    agent = ScriptedLLM([agent_reply], cycle=True)
    echo, forgetful = ScriptedLLM([echo_summary], cycle=True), ScriptedLLM(["Nothing happened."], cycle=True)
    settings = EvalSettings(data=data, memories=memories("echo", "forgetful"), truncate_tokens=30)
    report = evaluate(settings, tmp_path, {"agent": agent, "memory-echo": echo, "memory-forgetful": forgetful})
    rows = by_condition(report)
    assert list(rows) == ["none", "truncate", "echo", "forgetful", "full"]
    assert all(r.n == len(records) and r.errors == 0 for r in rows.values())
    assert rows["full"].mean_reward == rows["echo"].mean_reward == 10.0 and rows["echo"].name_match_rate == 1.0
    assert (rows["echo"].ci_low, rows["echo"].ci_high) == (10.0, 10.0)  # comem.core.metrics.mean_ci
    assert rows["none"].mean_reward < 10.0 and rows["forgetful"].mean_reward == rows["none"].mean_reward
    assert rows["none"].context_tokens < rows["echo"].context_tokens < rows["full"].context_tokens
    assert rows["truncate"].context_tokens < rows["full"].context_tokens
    # the memory models got exactly the records' memory prompts; the agent exactly the reward's messages
    assert [m[-1].content for m in echo.requests] == [r.prompt[0].content for r in records]
    for record in records:
        summary = echo_summary([Message(role="user", content=record.prompt[0].content)])
        expected = agent_messages(record.system_prompt, record.task_prompt, summary, record.covered, record.raw(),
                                  last_observation=record.last_observation)
        assert expected == memory_messages(record, summary) and expected in agent.requests
    # condition by condition, records in (task, step) order, so prefix caches see growing histories
    order = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    ordered = sorted(records, key=lambda r: (r.task_id, r.target_step))
    assert [(s["condition"], s["record_id"]) for s in order] == [(c, r.record_id) for c in rows for r in ordered]
    written = json.loads((tmp_path / "results.json").read_text())
    assert [r["condition"] for r in written["results"]] == list(rows)
    assert "| echo | " in (tmp_path / "results.md").read_text()
    # paired over records: every condition against none, full against every memory and baseline
    paired = {(d.first, d.second): d for d in report.paired}
    assert list(paired) == [("truncate", "none"), ("echo", "none"), ("forgetful", "none"), ("full", "none"),
                            ("forgetful", "echo"), ("full", "truncate"), ("full", "echo"), ("full", "forgetful")]
    lifted = paired[("echo", "none")]
    none_rewards = [s["reward"] for s in order if s["condition"] == "none"]
    assert lifted.n == len(records) and lifted.mean == pytest.approx(10.0 - sum(none_rewards) / len(none_rewards))
    assert (lifted.better, lifted.worse) == (sum(r < 10.0 for r in none_rewards), 0)
    same = paired[("full", "echo")]
    assert (same.mean, same.ci_low, same.ci_high, same.better, same.worse) == (0.0, 0.0, 0.0, 0, 0)
    assert paired[("forgetful", "none")].mean == 0.0  # a memory that says nothing adds nothing, record by record
    assert "| echo - none | " in (tmp_path / "results.md").read_text()
    # this agent under the full history takes the recorded action, so agreeing with it is the same reward
    assert rows["full"].agrees_full is None and rows["echo"].agrees_full_n == len(records)
    assert all(rows[c].agrees_full == pytest.approx(rows[c].mean_reward) for c in rows if c != "full")
    assert [(d.first, d.second) for d in report.paired_full] == [
        ("truncate", "none"), ("echo", "none"), ("forgetful", "none"), ("forgetful", "echo")]
    # how near each comes to the full-history bound: its mean reward over full's, paired over records
    assert rows["echo"].of_full == 1.0 and rows["echo"].of_full_ci == (1.0, 1.0) and rows["full"].of_full is None
    assert rows["none"].of_full == pytest.approx(rows["none"].mean_reward / 10.0)
    assert rows["none"].of_full_ci[0] <= rows["none"].of_full <= rows["none"].of_full_ci[1] < 1.0


def recall_reply(messages: list[Message]) -> str:
    """An agent on a course of its own (never the recorded one): it reads back every output it can see."""
    seen = sorted({m.group(0) for m in OUTPUT.finditer("\n".join(m.content for m in messages))})
    return "Recall.\n" + json.dumps({"name": "bash", "arguments": {"command": "echo " + " ".join(seen)}})


def test_agreement_with_full_ranks_memories_when_the_recorded_course_is_another_agents(
        data: Path, records: list[GrpoRecord], tmp_path: Path) -> None:
    agent = ScriptedLLM([recall_reply], cycle=True)
    echo, forgetful = ScriptedLLM([echo_summary], cycle=True), ScriptedLLM(["Nothing happened."], cycle=True)
    settings = EvalSettings(data=data, memories=memories("forgetful", "echo"), baselines=["none", "full"])
    report = evaluate(settings, tmp_path, {"agent": agent, "memory-echo": echo, "memory-forgetful": forgetful})
    rows = by_condition(report)
    # against the recorded course no context helps: the agent never takes it
    assert rows["echo"].mean_reward == rows["forgetful"].mean_reward == pytest.approx(rows["full"].mean_reward)
    # against its own action under the full history, the memory that keeps every output agrees on every record
    assert rows["echo"].agrees_full == 10.0 and rows["echo"].agrees_full_ci == (10.0, 10.0)
    assert rows["forgetful"].agrees_full == pytest.approx(rows["none"].agrees_full)
    assert rows["forgetful"].agrees_full < 10.0
    better = {(d.first, d.second): d for d in report.paired_full}[("echo", "forgetful")]
    assert better.mean > 0 and better.worse == 0 and better.n == len(records)
    markdown = (tmp_path / "results.md").read_text()
    assert "## Paired differences in agreement with full" in markdown and "| echo - forgetful | " in markdown


def test_baseline_windows(data: Path, records: list[GrpoRecord], tmp_path: Path) -> None:
    agent = ScriptedLLM([agent_reply], cycle=True)
    evaluate(EvalSettings(data=data, limit=1, truncate_tokens=1), tmp_path, {"agent": agent})
    none, truncate, full = agent.requests
    history = records[0].history_steps()
    assert [m.content for m in none[2:]] == [records[0].raw()[0].response, records[0].raw()[0].observation]
    assert truncate == none  # a budget of 1 token still keeps the last whole step
    assert [m.content for m in full[2::2]] == [s.response for s in history]


def test_retain_zero_shows_the_last_observation(tmp_path: Path) -> None:
    """The original's setting: the summary, then the last observation as the current query; `none` keeps the
    last step."""
    requires("pyarrow", "train")
    trajectories = load_recorded(write_run(tmp_path / "run", {"alpha": 4}))
    records = build_grpo_records(trajectories, retain=0)
    write_parquet(tmp_path / "eval.parquet", records, GrpoRecord)
    agent = ScriptedLLM([agent_reply], cycle=True)
    evaluate(EvalSettings(data=tmp_path / "eval.parquet", limit=1, baselines=["none"], memories=memories("m")),
             tmp_path / "out", {"agent": agent, "memory-m": ScriptedLLM(["S"], cycle=True)})
    none, memory = agent.requests
    step = trajectories[0].steps[0]
    assert [m.content for m in none[2:]] == [step.response, step.observation]
    assert len(memory) == 2 and memory[1].content.endswith(f"Current User Query:\n{step.observation}\n")


def test_ledger_conditions_show_the_ledger_of_the_covered_steps(data: Path, records: list[GrpoRecord],
                                                               tmp_path: Path) -> None:
    """`ledger`: the ledger instead of a summary, same raw window; `echo+ledger`: the same summary, then the
    ledger. The memory model is asked once per record for both of its conditions."""
    agent, echo = ScriptedLLM([agent_reply], cycle=True), ScriptedLLM([echo_summary], cycle=True)
    settings = EvalSettings(data=data, memories=memories("echo"), baselines=["none", "ledger"], with_ledger=True)
    report = evaluate(settings, tmp_path, {"agent": agent, "memory-echo": echo})
    assert [r.condition for r in report.results] == ["none", "ledger", "echo", "echo+ledger"]
    assert [(d.first, d.second) for d in report.paired] == [  # what each adds to the other, paired
        ("ledger", "none"), ("echo", "none"), ("echo+ledger", "none"), ("echo+ledger", "echo"),
        ("echo+ledger", "ledger")]
    assert all(r.n == len(records) for r in report.results) and len(echo.requests) == len(records)
    ordered = sorted(records, key=lambda r: (r.task_id, r.target_step))
    keys = [(c, r.record_id) for c in ("none", "ledger", "echo", "echo+ledger") for r in ordered]
    sent = dict(zip(keys, agent.requests, strict=True))  # condition by condition, in record order
    record = max(ordered, key=lambda r: r.covered)
    ledger, both = sent[("ledger", record.record_id)][1].content, sent[("echo+ledger", record.record_id)][1].content
    covered_steps = record.history_steps()[:record.covered]
    assert f'<ledger steps="1-{record.covered}">' in ledger and "<memory_summary" not in ledger
    commands = [s.action.arguments["command"] for s in covered_steps if s.action and s.action.name == "bash"]
    assert commands and all(f"`{command}` -> not run" in ledger for command in commands)
    assert "- calc/ops.py" in ledger
    assert both.index("<memory_summary") < both.index("<ledger") and both.endswith(ledger[len(record.task_prompt):])
    raw = [m.content for m in sent[("echo", record.record_id)][2:]]
    assert [m.content for m in sent[("ledger", record.record_id)][2:]] == raw and raw


def test_asked_pairs_are_reported_after_the_default_ones(data: Path, records: list[GrpoRecord],
                                                          tmp_path: Path) -> None:
    """Two conditions the defaults do not pair (the second memory against the ledger, the ledger against
    truncation), paired on the reward and on agreement with full; a pair the defaults hold is not repeated."""
    agent = ScriptedLLM([agent_reply], cycle=True)
    echo, forgetful = ScriptedLLM([echo_summary], cycle=True), ScriptedLLM(["Nothing happened."], cycle=True)
    asked = [("forgetful", "ledger"), ("ledger", "truncate"), ("forgetful", "echo"), ("ledger", "truncate")]
    settings = EvalSettings(data=data, memories=memories("echo", "forgetful"),
                            baselines=["none", "truncate", "ledger", "full"], pairs=asked)
    report = evaluate(settings, tmp_path, {"agent": agent, "memory-echo": echo, "memory-forgetful": forgetful})
    pairs = [(d.first, d.second) for d in report.paired]
    assert pairs[-2:] == [("forgetful", "ledger"), ("ledger", "truncate")] and pairs.count(("forgetful", "echo")) == 1
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    reward = {(s["condition"], s["record_id"]): s["reward"] for s in scores}
    diffs = [reward[("forgetful", r.record_id)] - reward[("ledger", r.record_id)] for r in records]
    got = {(d.first, d.second): d for d in report.paired}[("forgetful", "ledger")]
    assert got.n == len(records) and got.mean == pytest.approx(sum(diffs) / len(diffs))
    assert (got.better, got.worse) == (sum(d > 0 for d in diffs), sum(d < 0 for d in diffs))
    assert [(d.first, d.second) for d in report.paired_full][-2:] == [("forgetful", "ledger"), ("ledger", "truncate")]
    assert "| forgetful - ledger | " in (tmp_path / "results.md").read_text()


@pytest.mark.parametrize(("pair", "message"), [
    (("echo", "oracle"), "oracle, not a condition of this run"),
    (("full", "full"), "with itself"),
])
def test_a_pair_must_name_two_conditions_of_the_run(data: Path, pair: tuple[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvalSettings(data=data, memories=memories("echo"), baselines=["none", "full"], pairs=[pair])


def test_recent_baseline_is_the_recent_candidate_as_a_summary(data: Path, records: list[GrpoRecord],
                                                             tmp_path: Path) -> None:
    """`recent` shows, where a summary goes, exactly the view an extractive SFT candidate is under the same
    summary budget, framed as the training reward frames a summary."""
    agent = ScriptedLLM([agent_reply], cycle=True)
    settings = EvalSettings(data=data, baselines=["recent"], memory_max_tokens=64)
    report = evaluate(settings, tmp_path, {"agent": agent})
    assert [r.condition for r in report.results] == ["recent"] and report.results[0].n == len(records)
    ordered = sorted(records, key=lambda r: (r.task_id, r.target_step))
    for record, sent in zip(ordered, agent.requests, strict=True):
        assert sent == memory_messages(record, VIEWS["recent"](record, 64))
        assert "Last steps (newest last):" in sent[1].content


def test_mask_baseline_shows_every_call_and_only_the_last_outputs(data: Path, records: list[GrpoRecord],
                                                                  tmp_path: Path) -> None:
    """`mask` is the whole history with the observations before the last three as placeholders: every call the
    agent made stays; it is scored beside `none` and `full` in one run."""
    agent = ScriptedLLM([agent_reply], cycle=True)
    report = evaluate(EvalSettings(data=data, baselines=["none", "mask", "full"]), tmp_path, {"agent": agent})
    rows = by_condition(report)
    assert list(rows) == ["none", "mask", "full"] and rows["mask"].n == len(records)
    ordered = sorted(records, key=lambda r: (r.task_id, r.target_step))
    for record, sent in zip(ordered, agent.requests[len(records):2 * len(records)], strict=True):
        history = record.history_steps()
        assert [m.content for m in sent[2::2]] == [s.response for s in history]  # every call
        outputs = [m.content for m in sent[3::2]]
        assert outputs[-3:] == [s.observation for s in history][-3:]
        assert all(o.startswith("[Output of step") for o in outputs[:-3])


def test_keep_calls_keeps_the_covered_calls_before_every_memory(data: Path, records: list[GrpoRecord],
                                                               tmp_path: Path) -> None:
    """With `keep_calls` every memory condition (a model's summary, the ledger, the recent view) and `none` show the
    covered steps as the agent's own turns with masked outputs, the memory closing the last covered output, then
    the raw window; `full` is unchanged. The setting is one a resumed run must share."""
    agent, echo = ScriptedLLM([agent_reply], cycle=True), ScriptedLLM([echo_summary], cycle=True)
    settings = EvalSettings(data=data, memories=memories("echo"), baselines=["none", "ledger", "recent", "full"],
                            keep_calls=True)
    report = evaluate(settings, tmp_path, {"agent": agent, "memory-echo": echo})
    conditions = ["none", "ledger", "recent", "echo", "full"]
    assert [r.condition for r in report.results] == conditions
    ordered = sorted(records, key=lambda r: (r.task_id, r.target_step))
    sent = dict(zip([(c, r.record_id) for c in conditions for r in ordered], agent.requests, strict=True))
    for record in ordered:
        history, covered = record.history_steps(), record.covered
        for condition, block in (("none", ""), ("ledger", "<ledger"), ("recent", "Last steps"),
                                 ("echo", "<memory_summary")):
            messages = sent[(condition, record.record_id)]
            assert messages[1].content == record.task_prompt
            assert [m.content for m in messages[2::2]] == [s.response for s in history]  # every call
            outputs = [m.content for m in messages[3::2]]
            assert all(o.startswith("[Output of step") for o in outputs[:covered])
            assert block in outputs[covered - 1] and outputs[covered:] == [s.observation for s in record.raw()]
            assert ("<" in outputs[covered - 1]) == bool(block)  # `none`: the calls and no memory block
        summary = echo_summary([Message(role="user", content=record.prompt[-1].content)])
        assert sent[("echo", record.record_id)] == memory_messages(record, summary, keep_calls=True)
        assert sent[("full", record.record_id)] == baseline_messages("full", record, 1024)
    with pytest.raises(ComemError, match="keep_calls"):
        evaluate(settings.model_copy(update={"keep_calls": False}), tmp_path, {})


def test_summaries_table_counts_cut_and_looping_summaries(data: Path, records: list[GrpoRecord],
                                                           tmp_path: Path) -> None:
    loop = "files:\n- a.py\n- b.py\n- a.py\n- b.py\n- a.py\n"  # 40 characters: 10 tokens from the scripted model
    settings = EvalSettings(data=data, memories=memories("short", "loop"), baselines=["none"], memory_max_tokens=10)
    report = evaluate(settings, tmp_path, {"agent": ScriptedLLM([agent_reply], cycle=True),
                                           "memory-short": ScriptedLLM(["files:\n- a.py"], cycle=True),
                                           "memory-loop": ScriptedLLM([loop], cycle=True)})
    stats = {s.label: s for s in report.summaries}
    n = len(records)
    assert [(s.n, s.median_tokens, s.at_budget, s.repeating) for s in stats.values()] == [(n, 3, 0, 0), (n, 10, n, n)]
    assert f"| loop | {n} | 10 | {n} | {n} |" in (tmp_path / "results.md").read_text()
    assert EvalReport.model_validate_json((tmp_path / "results.json").read_text()).summaries == report.summaries


def test_rerun_resumes_and_new_models_add_conditions(data: Path, records: list[GrpoRecord], tmp_path: Path) -> None:
    settings = EvalSettings(data=data, memories=memories("echo"))
    first = evaluate(settings, tmp_path, {"agent": ScriptedLLM([agent_reply], cycle=True),
                                          "memory-echo": ScriptedLLM([echo_summary], cycle=True)})
    opened: list[str] = []
    again = evaluate(settings, tmp_path, {}, opened)  # nothing to do: no model is even started
    assert opened == [] and again.results == first.results
    agent = ScriptedLLM([agent_reply], cycle=True)
    more = evaluate(settings.model_copy(update={"memories": memories("echo", "other")}), tmp_path,
                    {"agent": agent, "memory-other": ScriptedLLM(["x"], cycle=True)}, opened)
    assert opened == ["memory-other", "agent"] and len(agent.requests) == len(records)
    assert [r.condition for r in more.results] == ["none", "truncate", "echo", "other", "full"]


def test_failures_are_counted_apart_and_retried(data: Path, records: list[GrpoRecord], tmp_path: Path) -> None:
    def flaky(messages: list[Message]) -> str:
        if "<memory_summary" in messages[1].content:
            raise LLMError("agent overloaded")
        return agent_reply(messages)

    settings = EvalSettings(data=data, memories=memories("echo", "broken"), baselines=["none"])
    errors: list = []
    report = evaluate(settings, tmp_path, {
        "agent": ScriptedLLM([flaky], cycle=True), "memory-echo": ScriptedLLM([echo_summary], cycle=True),
        "memory-broken": ScriptedLLM([LLMError("memory down")], cycle=True)}, errors=errors)
    rows = by_condition(report)
    assert (rows["none"].n, rows["echo"].n, rows["echo"].errors) == (len(records), 0, len(records))
    assert (rows["broken"].n, rows["broken"].errors, rows["broken"].mean_reward) == (0, len(records), None)
    assert sorted(errors) == sorted([("echo", r.record_id) for r in records] + [("broken", r.record_id)
                                                                                for r in records])
    agent = ScriptedLLM([agent_reply], cycle=True)
    fixed = evaluate(settings, tmp_path, {"agent": agent, "memory-broken": ScriptedLLM(["ok"], cycle=True)})
    assert all(r.n == len(records) and r.errors == 0 for r in fixed.results)
    assert len(agent.requests) == 2 * len(records)  # only echo and broken, whose calls had failed


def test_the_agent_gets_the_loops_completion_budget() -> None:
    assert EvalSettings(data=Path("x")).agent_max_tokens == AgentConfig().max_tokens  # a cut reply has no call


def test_changed_settings_are_refused(data: Path, tmp_path: Path) -> None:
    settings = EvalSettings(data=data, limit=1, baselines=["none"], memories=memories("m"))
    evaluate(settings, tmp_path, {"agent": ScriptedLLM([agent_reply], cycle=True),
                                  "memory-m": ScriptedLLM(["s"], cycle=True)})
    with pytest.raises(ComemError, match="agent_max_tokens"):
        evaluate(settings.model_copy(update={"agent_max_tokens": 64}), tmp_path, {})
    other = settings.model_copy(update={"memories": [MemoryCondition(label="m", model=ModelConfig(model="z"))]})
    with pytest.raises(ComemError, match="memory model 'm'"):
        evaluate(other, tmp_path, {})
    decoded = MemoryCondition(label="m", model=ModelConfig(model="m", request_options={"frequency_penalty": 0.5}))
    with pytest.raises(ComemError, match="frequency_penalty"):  # the same weights, decoded otherwise
        evaluate(settings.model_copy(update={"memories": [decoded]}), tmp_path, {})
    adapter = tmp_path / "retrained.gguf"
    adapter.write_bytes(b"GGUF first training")
    adapted = MemoryCondition(label="m", model=ModelConfig(model="m", lora=adapter))
    with pytest.raises(ComemError, match="retrained.gguf"):  # the same base with an adapter is other weights
        evaluate(settings.model_copy(update={"memories": [adapted]}), tmp_path, {})


def test_an_adapter_retrained_at_the_same_path_is_refused(data: Path, tmp_path: Path) -> None:
    adapter = tmp_path / "memory.gguf"
    adapter.write_bytes(b"GGUF first training")
    settings = EvalSettings(data=data, limit=1, baselines=["none"],
                            memories=[MemoryCondition(label="m", model=ModelConfig(model="m", lora=adapter))])
    scripted = {"agent": ScriptedLLM([agent_reply], cycle=True), "memory-m": ScriptedLLM(["s"], cycle=True)}
    out = tmp_path / "eval"
    evaluate(settings, out, scripted)
    evaluate(settings, out, {})  # the same file: resumes, nothing to do
    adapter.write_bytes(b"GGUF second training")
    with pytest.raises(ComemError, match="lora_sha256"):
        evaluate(settings, out, {})
    saved = json.loads((out / "settings.json").read_text())  # a directory from before adapters were hashed
    del saved["memories"]["m"]["lora_sha256"]
    (out / "settings.json").write_text(json.dumps(saved))
    evaluate(settings, out, {})
    assert "lora_sha256" in json.loads((out / "settings.json").read_text())["memories"]["m"]  # hashed from now on


def test_memory_model_specs() -> None:
    url = parse_memory_model("sft=http://127.0.0.1:8000/v1#comem-mem")
    assert (url.label, url.model.url, url.model.model) == ("sft", "http://127.0.0.1:8000/v1", "comem-mem")
    bare = parse_memory_model("http://127.0.0.1:8000/v1")
    assert (bare.label, bare.model.model) == ("127.0.0.1:8000", "127.0.0.1:8000")
    assert parse_memory_model("smollm2-135m").label == "smollm2-135m"
    assert parse_memory_model("tuned=/models/mem.gguf").model.model == "/models/mem.gguf"
    adapted = parse_memory_model("smollm2-135m+lora:runs/grpo-memory.gguf")  # named after its adapter
    assert (adapted.label, adapted.model.model, str(adapted.model.lora)) == \
        ("grpo-memory", "smollm2-135m", "runs/grpo-memory.gguf")
    penalised = parse_memory_model("smollm2-135m+lora:fit.gguf?frequency_penalty=0.5")  # `=` of an option
    assert (penalised.label, penalised.model.request_options) == ("fit", {"frequency_penalty": 0.5})
    served = parse_memory_model("fp=http://127.0.0.1:8000/v1#mem?top_k=4")
    assert (served.label, served.model.model, served.model.request_options) == ("fp", "mem", {"top_k": 4})
    with pytest.raises(ComemError, match="baseline"):
        parse_memory_model("full=smollm2-135m")
    with pytest.raises(ValueError, match="repeat"):
        EvalSettings(data=Path("x"), memories=memories("a", "a"))


def test_a_named_bundled_adapter_sets_the_summary_budget_of_every_condition_unless_one_is_given() -> None:
    from comem.llm.models import ADAPTERS

    adapter = ADAPTERS["comem-memory-135m"]
    both = [parse_memory_model(f"base={adapter.base}"), parse_memory_model(f"tuned={adapter.name}")]
    assert EvalSettings(data=Path("x"), memories=both).memory_max_tokens == adapter.summary_tokens
    assert EvalSettings(data=Path("x"), memories=both[:1]).memory_max_tokens == MemorySettings().memory_max_tokens
    assert EvalSettings(data=Path("x"), memories=both, memory_max_tokens=64).memory_max_tokens == 64


app = typer.Typer()
app.command()(friendly(eval_memory_command))
runner = CliRunner()


def test_command_against_served_models(data: Path, tmp_path: Path) -> None:
    def serve_agent(request: dict) -> str:
        return agent_reply([Message(role=m["role"], content=m["content"]) for m in request["messages"]])

    agent = OpenAIStandIn(serve_agent)
    memory = OpenAIStandIn(lambda req: echo_summary([Message(role="user", content=req["messages"][-1]["content"])]))
    try:
        result = runner.invoke(app, [str(data), "--agent-url", agent.url, "--agent-model", "frozen",
                                     "--memory-model", f"echo={memory.url}#mem", "--out", str(tmp_path / "o")])
    finally:
        agent.close()
        memory.close()
    assert result.exit_code == 0, result.output
    for condition in ("none", "truncate", "echo", "full"):
        assert condition in result.output
    assert {r["model"] for r in memory.requests} == {"mem"} and {r["model"] for r in agent.requests} == {"frozen"}
    assert {r["max_tokens"] for r in agent.requests} == {AgentConfig().max_tokens}  # the loop's budget
    assert {r["temperature"] for r in memory.requests} == {0}
    # summaries get the budget `comem run` gives the memory model, so eval scores the summaries it would install
    assert {r["max_tokens"] for r in memory.requests} == {MemorySettings().memory_max_tokens}
    results = json.loads((tmp_path / "o" / "results.json").read_text())["results"]
    assert {r["condition"]: r["mean_reward"] for r in results}["echo"] == 10.0
    assert not any("grammar" in r for r in agent.requests)  # the stand-in is not llama.cpp (no /props)
    scores = [json.loads(line) for line in (tmp_path / "o" / "scores.jsonl").read_text().splitlines()]
    assert scores and all(s["reply"].startswith(("Next.\n", "Let me look around.\n")) for s in scores)


def test_a_rerun_without_limit_scores_the_records_of_the_last_run(data: Path, records: list[GrpoRecord],
                                                                 tmp_path: Path) -> None:
    agent = OpenAIStandIn(lambda req: 'Hmm.\n{"name": "bash", "arguments": {"command": "ls"}}')

    def counts(*args: str) -> int:
        result = runner.invoke(app, [str(data), "--agent-url", agent.url, "--agent-model", "frozen",
                                     "--baselines", "none", "--out", str(tmp_path / "o"), *args])
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / "o" / "results.json").read_text())["results"][0]["n"]

    try:
        assert len(records) > 3
        assert counts("--limit", "3") == 3
        assert counts() == 3  # adding nothing, and not the default 20: the directory's own records
        assert counts("--limit", str(len(records))) == len(records)
        assert counts() == len(records)
    finally:
        agent.close()


def test_a_rerun_with_a_pair_reports_it_from_the_saved_scores(data: Path, tmp_path: Path) -> None:
    agent = OpenAIStandIn(lambda req: agent_reply([Message(role=m["role"], content=m["content"])
                                                   for m in req["messages"]]))

    def run(*args: str) -> dict:
        result = runner.invoke(app, [str(data), "--agent-url", agent.url, "--agent-model", "frozen",
                                     "--baselines", "none,truncate,ledger", "--out", str(tmp_path / "o"), *args])
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / "o" / "results.json").read_text())

    try:
        first = run()
        calls = len(agent.requests)
        again = run("--pair", "ledger,truncate")
    finally:
        agent.close()
    assert len(agent.requests) == calls  # no new agent call: the pair is a report on the scores kept
    assert ("ledger", "truncate") not in {(p["first"], p["second"]) for p in first["paired"]}
    assert again["paired"][-1]["first"] == "ledger" and again["paired"][-1]["second"] == "truncate"
    assert again["settings"]["pairs"] == [["ledger", "truncate"]]


def test_agent_grammar_asks_for_the_loops_tool_call_grammar(data: Path, tmp_path: Path) -> None:
    agent = OpenAIStandIn(lambda req: agent_reply([Message(role=m["role"], content=m["content"])
                                                   for m in req["messages"]]))
    try:
        result = runner.invoke(app, [str(data), "--agent-url", agent.url, "--agent-model", "frozen",
                                     "--baselines", "none", "--agent-grammar", "--out", str(tmp_path / "o")])
        again = runner.invoke(app, [str(data), "--agent-url", agent.url, "--agent-model", "frozen",
                                    "--baselines", "none", "--no-agent-grammar", "--out", str(tmp_path / "o")])
    finally:
        agent.close()
    assert result.exit_code == 0, result.output
    grammars = {r.get("grammar") for r in agent.requests}
    assert len(grammars) == 1 and '\\"file_editor\\"' in str(grammars.pop())
    assert again.exit_code == 2 and "agent_grammar" in again.output  # scores taken another way are not mixed


@pytest.mark.parametrize(("args", "message"), [
    (["/nonexistent/eval.parquet"], "does not exist"),
    (["DATA", "--baselines", "none,oracle"], "unknown baseline"),
    (["DATA", "--memory-model", "truncate=smollm2-135m"], "baseline"),
    (["DATA", "--pair", "none"], "is not two conditions"),
    (["DATA", "--pair", "none,mask"], "names mask"),
])
def test_command_bad_input(data: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [str(data) if a == "DATA" else a for a in args] + ["--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "fix:" in result.output


@pytest.mark.slow
@needs_model("smollm2-135m")
def test_real_embedded_models(data: Path, tmp_path: Path) -> None:
    requires("xllamacpp")
    result = runner.invoke(app, [str(data), "--agent-model", "smollm2-135m", "--memory-model", "smollm2-135m",
                                 "--limit", "2", "--agent-max-tokens", "96", "--memory-max-tokens", "16",
                                 "--n-ctx", "2048", "--threads", "1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())["results"]
    assert [r["condition"] for r in results] == ["none", "truncate", "smollm2-135m", "full"]
    assert all(r["n"] == 2 and r["errors"] == 0 and 0.0 <= r["mean_reward"] <= 10.0 for r in results)
    summaries = [json.loads(line) for line in (tmp_path / "o" / "summaries.jsonl").read_text().splitlines()]
    assert len(summaries) == 2 and all(s["summary_tokens"] > 0 for s in summaries)
    # the base model says more than 16 tokens: both summaries were cut at the budget, and the table says so
    stats = json.loads((tmp_path / "o" / "results.json").read_text())["summaries"]
    assert [(s["label"], s["n"], s["at_budget"]) for s in stats] == [("smollm2-135m", 2, 2)]
    assert "repeat a line" in result.output
    assert "smollm2-135m" in result.output and (tmp_path / "o" / "agent-server.log").exists()
    # the agent replies under the loop's grammar on llama.cpp: SmolLM2 cannot write a tool call without one
    scores = [json.loads(line) for line in (tmp_path / "o" / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 8 and all(s["predicted"] is not None for s in scores)


def research_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[GrpoRecord]:
    """The records of one oracle course over two mini questions asked together (real browser outputs)."""
    requires("pyarrow", "train")
    pytest.importorskip("bm25s", reason="the browse corpus index needs bm25s (the eval extra)")
    from comem.tasks.browsecomp import combine_questions, load_browsecomp, mini_suite_dir
    from comem.train.data.oracle import read_hops, write_oracle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write_oracle(combine_questions(load_browsecomp(ids=["mini-03", "mini-07"]), 2),
                 read_hops(mini_suite_dir() / "hops.jsonl"), tmp_path / "run")
    return build_grpo_records(load_recorded(tmp_path / "run"), retain=1, variant="browsecomp")


@needs_model("smollm2-135m")
def test_research_records_are_answered_under_the_browser_s_tool_grammar(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """On llama.cpp the agent samples under the tool grammar of the records' tasks: the browser's three tools, not
    the coding tools (whose grammar would make `fetch` and `submit_answer` impossible to write)."""
    requires("xllamacpp")
    write_parquet(tmp_path / "eval.parquet", research_records(tmp_path, monkeypatch), GrpoRecord)
    result = runner.invoke(app, [str(tmp_path / "eval.parquet"), "--agent-model", "smollm2-135m", "--baselines",
                                 "none", "--limit", "3", "--agent-max-tokens", "64", "--n-ctx", "4096",
                                 "--threads", "1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    scores = [json.loads(line) for line in (tmp_path / "o" / "scores.jsonl").read_text().splitlines()]
    calls = [s["predicted"] for s in scores]
    assert len(calls) == 3 and all(c["name"] in ("search", "fetch", "submit_answer") for c in calls)
    assert all(set(c["arguments"]) <= {"q", "num", "url", "answer"} for c in calls)  # the browser's search, too


def test_research_records_are_scored_with_the_browser_s_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of research tasks (`--variant browsecomp`) from oracle courses: under keep_calls only the context
    that still shows a search's results names the url the oracle read next, so `none` falls below `full`."""
    fetches = [r for r in research_records(tmp_path, monkeypatch) if json.loads(r.reference_action)["name"] == "fetch"]
    write_parquet(tmp_path / "eval.parquet", fetches, GrpoRecord)
    link = re.compile(r'"link": "([^"]+)"')

    def reader(messages: list[Message]) -> str:
        """Reads the top result of the oldest search it can see whose top result it has not read yet."""
        read = {u for m in messages if m.role == "assistant" for u in re.findall(r'"url": "([^"]+)"', m.content)}
        tops = [hit.group(1) for m in messages if m.role != "assistant" and (hit := link.search(m.content))]
        url = next((u for u in tops if u not in read), "none")
        return "Read it.\n" + json.dumps({"name": "fetch", "arguments": {"url": url}})

    settings = EvalSettings(data=tmp_path / "eval.parquet", keep_calls=True, baselines=["none", "ledger", "full"])
    rows = by_condition(evaluate(settings, tmp_path / "out", {"agent": ScriptedLLM([reader], cycle=True)}))
    assert rows["none"].name_match_rate == rows["full"].name_match_rate == 1.0  # parsed as the browser's fetch
    assert rows["full"].mean_reward == 10.0 > rows["none"].mean_reward  # the masked output held the url
    # every fetch reads a link a search two steps back found: names the action needs, which the ledger's pages
    # keep and no memory cannot, whatever the agent does
    assert rows["none"].needing == rows["ledger"].needing == rows["full"].needing == len(fetches)
    assert (rows["none"].needed_kept, rows["ledger"].needed_kept, rows["full"].needed_kept) == (0.0, 1.0, 1.0)
    assert rows["none"].needed_kept_ci == (0.0, 0.0) and rows["full"].needed_kept_ci == (1.0, 1.0)
    assert "needed names kept" in (tmp_path / "out" / "results.md").read_text()
