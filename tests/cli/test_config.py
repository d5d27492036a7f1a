"""One typed configuration through the real command line: a typo at any level of a real YAML file is an error
naming the key and the nearest valid one; `--limit 0` is refused; `--help` shows the config classes' defaults,
which are what a plain `comem run` runs; the API key never reaches the run directory or the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from comem.agent.loop import AgentConfig
from comem.cli.main import app
from comem.context.kso import KsoConfig
from comem.context.mask import MaskConfig
from comem.context.sync import SyncConfig
from comem.core.config import default_of
from comem.eval.config import (
    CPU_MEMORY_DEFAULTS,
    QUICK_MAX_STEPS,
    QUICK_TASK_IDS,
    RUN_AGENT_MODEL,
    EvalConfig,
    load_config,
)
from comem.llm.endpoint import ModelConfig
from tests.standin import OpenAIStandIn

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Rich's boxes and line wrapping removed: one line of words."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[EvalConfig]:
    """`comem run`/`comem eval` stop after building the configuration; the configurations land here."""
    seen: list[EvalConfig] = []
    monkeypatch.setattr("comem.cli.eval.execute", lambda config, *a, **k: seen.append(config))
    return seen


LEVELS = [  # (YAML, the key's path, the suggestion)
    ("limt: 2\n", "limt", "limit"),
    ("seed: [0, 1]\n", "seed", "seeds"),
    ("loop: {max_step: 3}\n", "loop.max_step", "max_steps"),
    ("agent: {modle: smollm2-135m}\n", "agent.modle", "model"),
    ("memory: {thread: 1}\n", "memory.thread", "threads"),
    ("arms:\n  - full\n  - {name: kso, memory_max_token: 64}\n", "arms.1.kso.memory_max_token", "memory_max_tokens"),
    ("arms:\n  - {name: mask, keep_lst: 2}\n", "arms.0.mask.keep_lst", "keep_last"),
]


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize(("text", "path", "near"), LEVELS)
def test_an_unknown_key_at_any_level_names_it_and_the_nearest_valid_key(
        command: str, text: str, path: str, near: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        captured: list[EvalConfig]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text("task_ids: [semver-bump-minor]\n" + text)
    args = ["run", "--config", "config.yaml"] if command == "run" else ["eval", "config.yaml"]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    out = flat(result.output)
    assert f"{path}: unknown key (did you mean '{near}'?)" in out and "fix:" in out, out
    assert "Traceback" not in result.output and not captured


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_one_is_one_clear_error(limit: str, tmp_path: Path, captured: list[EvalConfig]) -> None:
    result = invoke("run", "--limit", limit, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and not captured
    lines = result.output.strip().splitlines()
    assert lines[0] == f"error: Invalid comem run configuration: limit must be >= 1, got {limit}."
    assert lines[1][:4] == "fix:"
    config = tmp_path / "eval.yaml"
    config.write_text("arms: [full]\n")
    result = invoke("eval", str(config), "--limit", limit)
    assert result.exit_code == 2 and f"limit must be >= 1, got {limit}" in flat(result.output) and not captured


@pytest.mark.parametrize(("flags", "message"), [
    (["--k", "0"], "k must be >= 1, got 0"),
    (["--max-steps", "0"], "loop.max_steps must be >= 1, got 0"),
    (["--threads", "0"], "agent.threads must be >= 1, got 0"),
    (["--late-policy", "later"], "late_policy"),
    (["--arms", "full-nocache"], "benchmark control"),
])
def test_bad_values_are_one_clear_error(flags: list[str], message: str, captured: list[EvalConfig]) -> None:
    result = invoke("run", *flags)
    assert result.exit_code == 2 and message in flat(result.output) and not captured, result.output


def test_help_shows_the_defaults_that_a_plain_run_uses(captured: list[EvalConfig]) -> None:
    help_text = flat(invoke("run", "--help").output)
    for flag, value in [("--k", default_of(KsoConfig, "k")),
                        ("--memory-max-tokens", default_of(KsoConfig, "memory_max_tokens")),
                        ("--keep-last", default_of(MaskConfig, "keep_last")),
                        ("--retain", default_of(SyncConfig, "retain")),
                        ("--late-policy", default_of(KsoConfig, "late_policy")),  # memory: agent keeps it
                        ("--memory-input", CPU_MEMORY_DEFAULTS["memory_input"]),
                        ("--max-steps", default_of(AgentConfig, "max_steps")),
                        ("--max-tokens", default_of(AgentConfig, "max_tokens")),
                        ("--n-ctx", default_of(ModelConfig, "n_ctx")),
                        ("--agent-model", RUN_AGENT_MODEL)]:
        assert re.search(re.escape(flag) + r" <\w+> [^<]*Default " + re.escape(str(value)) + r"\b", help_text), flag
    assert "Default: full,kso." in help_text

    assert invoke("run").exit_code == 0 and invoke("run", "--arms", "full,kso").exit_code == 0
    plain, named = captured
    assert plain.arms == named.arms and [a.key for a in plain.arms] == ["full", "kso"]
    kso = plain.arms[1]
    assert (kso.k, kso.memory_max_tokens) == (default_of(KsoConfig, "k"), default_of(KsoConfig, "memory_max_tokens"))
    assert (plain.loop.max_steps, plain.agent.model, plain.seeds, plain.concurrency) == (
        QUICK_MAX_STEPS, RUN_AGENT_MODEL, [0], 1)
    assert plain.task_ids == list(QUICK_TASK_IDS) and plain.tasks == ["bundled"]  # the quick job


def test_the_whole_suite_is_one_flag_away(captured: list[EvalConfig]) -> None:
    assert invoke("run", "--all").exit_code == 0 and invoke("run", "--task-ids", "money-minor-units").exit_code == 0
    assert invoke("run", "--max-steps", "5").exit_code == 0
    whole, chosen, short = captured
    assert (whole.task_ids, whole.loop.max_steps) == (None, default_of(AgentConfig, "max_steps"))
    assert (chosen.task_ids, chosen.loop.max_steps) == (["money-minor-units"], default_of(AgentConfig, "max_steps"))
    assert (short.task_ids, short.loop.max_steps) == (list(QUICK_TASK_IDS), 5)


def test_strategy_flags_apply_to_the_arms_of_the_config_file(tmp_path: Path, captured: list[EvalConfig]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("arms: [full, {name: kso, label: slow, k: 8}, kso-k2-deadline]\n")
    assert invoke("run", "--config", str(config), "--memory-max-tokens", "64").exit_code == 0
    arms = captured[0].arms
    assert [a.key for a in arms] == ["full", "slow", "kso-k2-deadline"]
    assert [(a.k, a.memory_max_tokens) for a in arms[1:]] == [(8, 64), (2, 64)]
    assert invoke("run", "--arms", "kso-k2,mask", "--k", "3", "--keep-last", "1").exit_code == 0
    assert [(a.key, getattr(a, "k", None), getattr(a, "keep_last", None)) for a in captured[1].arms] == [
        ("kso-k2", 2, None), ("mask", None, 1)]  # the -k2 suffix is more specific than --k


def readme_yaml(path: Path) -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    return [yaml.safe_load(block) for block in blocks]


def test_the_documented_config_files_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    documents = readme_yaml(root / "README.md") + readme_yaml(root / "src/comem/eval/README.md")
    assert len(documents) >= 2
    for data in documents:
        config = load_config(None, data)
        assert config.arms and config.loop.max_steps >= 1


def agent_reply(body: dict[str, Any]) -> str:
    if body["model"] != "agent":
        return "The agent listed the files."
    steps = sum(m["role"] == "assistant" for m in body["messages"])
    action = {"name": "bash", "arguments": {"command": "ls"}} if steps < 2 else {"name": "submit", "arguments": {}}
    return f"Next I act.\n{json.dumps(action)}"


def test_the_api_key_reaches_the_server_and_nothing_else(tmp_path: Path) -> None:
    secret = "sk-comem-test-3f9a1c"
    out = tmp_path / "run"
    with OpenAIStandIn(agent_reply, models=("agent", "memory")) as server:
        result = invoke("run", "--agent-url", server.url, "--agent-model", "agent", "--memory-url", server.url,
                        "--memory-model", "memory", "--api-key", secret, "--task-ids", "semver-bump-minor",
                        "--arms", "full,kso-k1", "--max-steps", "4", "--no-grade", "--out", str(out))
        headers = [r.headers.get("Authorization") or r.headers.get("authorization") for r in server.seen]
    assert result.exit_code == 0, result.output
    assert headers and set(headers) == {f"Bearer {secret}"}  # every request carried it
    assert any(r["model"] == "memory" for r in server.requests)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"config.yaml", "results.jsonl", "semver-bump-minor.jsonl"}
    assert not [p for p in written if secret.encode() in p.read_bytes()]
    assert secret not in result.output
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert "api_key" not in saved["agent"] and saved["agent"]["url"] == server.url


def test_an_api_key_in_a_config_file_is_not_written_back(tmp_path: Path) -> None:
    from comem.eval.engine import write_config

    path = tmp_path / "eval.yaml"
    path.write_text("arms: [full]\nagent: {model: a, url: 'http://h/v1', api_key: sk-in-yaml}\n")
    config = load_config(path, {})
    assert config.agent.secret() == "sk-in-yaml"
    write_config(tmp_path / "run", config)
    assert "sk-in-yaml" not in (tmp_path / "run" / "config.yaml").read_text()


def test_bench_and_train_settings_name_the_nearest_key_too(tmp_path: Path) -> None:
    from comem.bench.replay.runner import ReplayConfig
    from comem.core.config import first_error
    from comem.core.errors import ComemError
    from comem.train.trainers.settings import load_settings

    with pytest.raises(ValueError) as err:
        ReplayConfig.model_validate({"agent": {"n_cxt": 4096}})
    assert first_error(err.value) == "agent.n_cxt: unknown key (did you mean 'n_ctx'?)"  # type: ignore[arg-type]
    with pytest.raises(ComemError, match=r"learning_rat: unknown key \(did you mean 'learning_rate'\?\)"):
        load_settings("sft", "cpu", ["learning_rat=1e-5"])
    pytest.importorskip("simpy")
    from comem.bench.sim.config import load_config as load_sim_config

    with pytest.raises(ComemError, match=r"settings.mask_keep_last: unknown key \(did you mean 'keep_last'\?\)"):
        load_sim_config("glm-4.7-h200", ["settings.mask_keep_last=1"])
    assert load_sim_config("glm-4.7-h200", ["settings.keep_last=1"]).settings.keep_last == 1
    result = invoke("eval-memory", str(tmp_path), "--limit", "0")
    assert result.exit_code == 2 and "limit must be >= 1, got 0" in flat(result.output)


def test_a_memory_model_with_a_lora_adapter_reaches_the_run_config(captured: list[EvalConfig]) -> None:
    assert invoke("run", "--memory-model", "smollm2-135m+lora:memory.gguf").exit_code == 0
    assert (captured[0].memory.model, captured[0].memory.lora) == ("smollm2-135m", Path("memory.gguf"))
    result = invoke("run", "--memory-model", "hf:ckpt/final+lora:memory.gguf")
    assert result.exit_code == 2 and "embedded llama.cpp" in flat(result.output) and len(captured) == 1, result.output


def test_memory_view_flag_reaches_every_memory_arm(captured: list[EvalConfig]) -> None:
    assert invoke("run", "--arms", "full,kso,sync", "--memory-view", "ledger", "--ledger-tokens", "64").exit_code == 0
    arms = captured[0].arms
    assert [(a.memory_view, a.ledger_tokens, a.needs_memory()) for a in arms[1:]] == [("ledger", 64, False)] * 2
    assert arms[0].needs_memory() is False and not hasattr(arms[0], "memory_view")
    assert invoke("run", "--arms", "kso", "--memory-view", "recent").exit_code == 0
    assert (captured[1].arms[0].memory_view, captured[1].arms[0].needs_memory()) == ("recent", False)
    result = invoke("run", "--arms", "kso", "--memory-view", "notes")
    assert result.exit_code == 2 and "memory_view" in flat(result.output) and len(captured) == 2, result.output
