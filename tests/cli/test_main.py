"""`comem` through its real entry point: bad input gives one clear line and exit 2; a real run with the
embedded SmolLM2 servers writes every file, and a rerun into the same directory resumes without loss."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, MemoryRecord, Step
from tests.extras import needs_model

runner = CliRunner()
SMOL = ["--agent-model", "smollm2-135m", "--memory-model", "smollm2-135m", "--n-ctx", "4096"]
needs_smollm2 = needs_model("smollm2-135m")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--arms", "full,summarise-all"], "Unknown context strategy 'summarise-all'"),
    (["run", "--task-ids", "no-such-task"], "no-such-task"),
    (["run", "--tasks", "/nonexistent/tasks"], "/nonexistent/tasks"),
    (["run", "--arms", "kso", "--k", "0"], "k must be >= 1"),
    (["run", "--limit", "1", "--agent-model", "gpt-17-ultra"], "gpt-17-ultra"),
    (["run", "--memory-model", "agent+lora:memory.gguf"], "the memory model `agent` is the agent's own engine"),
    (["report", "/nonexistent/run"], "not a directory"),
])
def test_bad_input_is_one_clear_error(args: list[str], message: str, tmp_path: Path) -> None:
    result = invoke(*args, "--out", str(tmp_path / "out")) if args[0] == "run" else invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "fix:" in result.output
    assert "Traceback" not in result.output


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = invoke("run", "--limit", "1", "--arms", "full", "--agent-url", url, "--agent-model", "m",
                    "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and url.rsplit("/v1", 1)[0] in result.output and "fix:" in result.output


def test_not_a_gguf_file_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"this is not a model")
    result = invoke("run", "--limit", "1", "--arms", "full", "--agent-model", str(fake), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "GGUF" in result.output


def test_malformed_task_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.jsonl"
    bad.write_text('{"instance_id": "x", "problem_statement": "p"}\n')
    result = invoke("run", "--tasks", str(bad), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "tasks.jsonl" in result.output


def test_tasks_and_models_listings() -> None:
    tasks = invoke("tasks")
    assert tasks.exit_code == 0 and "semver-bump-minor" in tasks.output
    models = invoke("models")
    assert models.exit_code == 0 and "qwen2.5-coder-0.5b" in models.output
    from comem.llm.models import MODELS

    for name, spec in MODELS.items():  # the state in brackets is shown, not taken for console markup
        line = next(line for line in models.output.splitlines() if line.startswith(name))
        assert line.endswith("[installed]") if spec.is_installed() else "[missing: pip install" in line
    assert any(line.startswith("comem-memory-135m") for line in models.output.splitlines())


@pytest.mark.slow
@needs_smollm2
def test_end_to_end_run_with_embedded_servers_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"  # the memory model on the agent's engine (its separate server: tests/eval)
    base = ["run", *SMOL[:2], "--memory-model", "agent", "--threads", "2", "--n-ctx", "4096", "--arms", "full,kso",
            "--k", "1", "--max-steps", "3", "--max-tokens", "48", "--memory-max-tokens", "32", "--out", str(out)]
    first = invoke(*base, "--task-ids", "semver-bump-minor")
    assert first.exit_code == 0, first.output
    for arm in ("full", "kso"):
        ends = [EpisodeEnd.model_validate_json(line) for line in (out / arm / "results.jsonl").read_text().splitlines()]
        assert [e.instance_id for e in ends] == ["semver-bump-minor"] and ends[0].resolved is False
        records = read_records(out / arm / "trajectories" / "semver-bump-minor.jsonl")
        steps = [r for r in records if isinstance(r, Step)]
        assert len(steps) == ends[0].steps >= 1
        assert all(s.prompt_tokens > 0 and s.agent_total_s >= s.agent_ttft_s > 0 for s in steps)
    kso = read_records(out / "kso" / "trajectories" / "semver-bump-minor.jsonl")
    memory = [r for r in kso if isinstance(r, MemoryRecord)]
    assert any(r.status == "ok" and r.summary and r.input_tokens > 0 for r in memory)
    summary = json.loads((out / "summary.json").read_text())
    assert [row["arm"] for row in summary] == ["full", "kso"] and summary[1]["speedup_step"] > 0
    assert "1.00x" in first.output and "kso" in (out / "summary.md").read_text()
    assert sorted(p.name for p in (out / "logs").glob("*-server.log")) == ["agent-server.log"]

    before = (out / "full" / "results.jsonl").read_text()
    second = invoke(*base, "--task-ids", "semver-bump-minor,unitconv-fahrenheit", "--arms", "full")
    assert second.exit_code == 0, second.output
    after = (out / "full" / "results.jsonl").read_text()
    assert after.startswith(before)  # the finished episode was kept, not rerun
    assert [json.loads(x)["instance_id"] for x in after.splitlines()] == ["semver-bump-minor", "unitconv-fahrenheit"]
