"""The one run configuration: `comem run` files and `comem eval` files are the same model; run directories written
before arms became typed (`{name, label, options: {...}}`) still resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from comem.context.kso import KsoConfig
from comem.core.errors import ComemError
from comem.eval.config import AGENT_ENGINE_DEFAULTS, CPU_MEMORY_DEFAULTS, RUN_AGENT_MODEL, EvalConfig, load_config
from comem.eval.engine import write_config
from comem.llm.models import ADAPTERS, DEFAULT_MODEL, MODELS


def test_a_run_file_and_an_eval_file_are_one_model(tmp_path: Path) -> None:
    run = tmp_path / "run.yaml"
    run.write_text("tasks: bundled\nlimit: 2\narms:\n  - {name: full}\n  - {name: kso, k: 4, memory_max_tokens: 128}\n"
                   "agent: {model: qwen2.5-coder-0.5b}\nloop: {max_steps: 20, temperature: 0.7}\n")
    config = load_config(run, {})
    assert (config.tasks, config.seeds, config.concurrency, config.limit) == (["bundled"], [0], 1, 2)
    assert config.arms[1] == KsoConfig(k=4, memory_max_tokens=128, **AGENT_ENGINE_DEFAULTS)  # memory: agent
    run.write_text(run.read_text() + "seeds: [0, 1]\nconcurrency: 2\n")
    assert load_config(run, {}).seeds == [0, 1]
    assert EvalConfig().model_dump() == load_config(None, {}).model_dump()


def test_the_agent_is_the_bundled_model_that_solves_tasks_unless_one_is_named(tmp_path: Path) -> None:
    assert RUN_AGENT_MODEL in MODELS and RUN_AGENT_MODEL != DEFAULT_MODEL
    assert EvalConfig().agent.model == RUN_AGENT_MODEL
    assert EvalConfig(agent={"threads": 1, "n_ctx": 8192}).agent.model == RUN_AGENT_MODEL  # a partial setting
    assert load_config(None, {"agent": {"threads": 1}}).agent.model == RUN_AGENT_MODEL  # `comem run --threads 1`
    assert EvalConfig(agent={"model": DEFAULT_MODEL}).agent.model == DEFAULT_MODEL
    served = EvalConfig(agent={"url": "http://127.0.0.1:9/v1"}).agent  # a served agent keeps its own name
    assert served.model == DEFAULT_MODEL and served.url == "http://127.0.0.1:9/v1"
    run = tmp_path / "run.yaml"
    run.write_text("agent: {n_ctx: 8192}\n")
    assert load_config(run, {}).agent.model == RUN_AGENT_MODEL


def test_a_run_resumes_only_with_the_models_it_was_made_with(tmp_path: Path) -> None:
    write_config(tmp_path, load_config(None, {}))
    write_config(tmp_path, load_config(None, {"agent": {"threads": 1}}))  # other cores: the same weights
    with pytest.raises(ComemError, match=f"agent.model: '{RUN_AGENT_MODEL}' -> '{DEFAULT_MODEL}'"):
        write_config(tmp_path, load_config(None, {"agent": {"model": DEFAULT_MODEL}}))
    with pytest.raises(ComemError, match="memory.model: 'agent' -> 'smollm2-135m'"):
        write_config(tmp_path, load_config(None, {"memory": {"model": "smollm2-135m"}}))
    alone = tmp_path / "full-only"  # no arm used a memory model: memory arms with any model may join
    write_config(alone, load_config(None, {"arms": ["full"]}))
    write_config(alone, load_config(None, {"memory": {"model": "smollm2-135m"}}))


def test_a_run_resumes_only_with_the_request_options_it_was_made_with(tmp_path: Path) -> None:
    plain = load_config(None, {"memory": {"model": "smollm2-135m"}})
    write_config(tmp_path, plain)
    penalised = load_config(None, {"memory": {"model": "smollm2-135m?frequency_penalty=0.5"}})
    with pytest.raises(ComemError, match="memory.request_options"):
        write_config(tmp_path, penalised)
    before = yaml.safe_load((tmp_path / "config.yaml").read_text())  # a directory from before request options
    for role in ("agent", "memory"):
        del before[role]["request_options"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(before))
    write_config(tmp_path, plain)
    other = tmp_path / "penalised"
    write_config(other, penalised)
    with pytest.raises(ComemError, match="memory.request_options"):
        write_config(other, load_config(None, {"memory": {"model": "smollm2-135m?frequency_penalty=0.3"}}))


def test_a_run_refuses_an_adapter_retrained_at_the_same_path(tmp_path: Path) -> None:
    adapter = tmp_path / "memory.gguf"
    adapter.write_bytes(b"GGUF first training")
    config = load_config(None, {"memory": {"model": "smollm2-135m", "lora": str(adapter)}})
    run = tmp_path / "run"
    write_config(run, config)
    write_config(run, config)
    adapter.write_bytes(b"GGUF second training")
    with pytest.raises(ComemError, match="memory.lora_sha256"):
        write_config(run, config)
    (run / "adapters.json").unlink()  # a directory from before adapters were hashed resumes
    write_config(run, config)


def test_a_run_resumes_with_its_adapter_named_by_another_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.gguf").write_bytes(b"GGUF weights")
    (tmp_path / "other.gguf").write_bytes(b"GGUF weights")  # the same bytes, another file
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    write_config(run, load_config(None, {"memory": {"model": "smollm2-135m", "lora": "memory.gguf"}}))
    for same in ("./memory.gguf", str(tmp_path / "memory.gguf")):  # one file, written otherwise
        write_config(run, load_config(None, {"memory": {"model": "smollm2-135m", "lora": same}}))
    with pytest.raises(ComemError, match="memory.lora"):
        write_config(run, load_config(None, {"memory": {"model": "smollm2-135m", "lora": "other.gguf"}}))
    with pytest.raises(ComemError, match="memory.lora"):  # the adapter dropped
        write_config(run, load_config(None, {"memory": {"model": "smollm2-135m"}}))


def test_a_directory_written_with_untyped_arm_options_resumes(tmp_path: Path) -> None:
    old = {"arms": [{"name": "full", "label": None, "options": {}},
                    {"name": "kso", "label": None, "options": {"k": 4, "memory_max_tokens": 128}}],
           "loop": {"max_steps": 20}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    paper = {"memory_input": "from_scratch", "late_policy": "wait"}  # the defaults before the CPU ones
    write_config(tmp_path, load_config(None, {}, arm_options=paper))  # the old default run, with today's flags
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert [a["name"] for a in saved["arms"]] == ["full", "kso"] and saved["arms"][1]["k"] == 4
    with pytest.raises(ComemError, match="'kso'"):
        write_config(tmp_path, load_config(None, {"arms": [{"name": "kso", "k": 2}]}))


def test_an_embedded_memory_model_gets_the_cpu_memory_defaults_unless_an_arm_sets_them() -> None:
    arms = ["full", "kso", {"name": "kso", "label": "kso-own", "memory_input": "from_scratch"}, "kso-k2-wait", "sync"]
    embedded = EvalConfig(arms=arms, memory={"model": "qwen2.5-coder-0.5b"}).arms  # a server of its own
    assert [(getattr(a, "memory_input", None), getattr(a, "late_policy", None)) for a in embedded] == [
        (None, None), ("incremental", "deadline"), ("from_scratch", "deadline"), ("incremental", "wait"),
        ("incremental", None)]
    assert CPU_MEMORY_DEFAULTS["late_policy"] == "deadline"
    served = EvalConfig(arms=arms, memory={"model": "m", "url": "http://127.0.0.1:9/v1"}).arms
    assert (served[1].memory_input, served[1].late_policy) == ("from_scratch", "wait")  # the paper's
    on_agent = {"model": "agent"}  # the agent's engine (the default): incremental input, the paper's `wait`
    shared = EvalConfig(arms=arms).arms
    assert [(getattr(a, "memory_input", None), getattr(a, "late_policy", None)) for a in shared] == [
        (None, None), ("incremental", "wait"), ("from_scratch", "wait"), ("incremental", "wait"), ("incremental", None)]
    remote = EvalConfig(arms=arms, memory=on_agent, agent={"model": "a", "url": "http://127.0.0.1:9/v1"}).arms
    assert (remote[1].memory_input, remote[1].late_policy) == ("from_scratch", "wait")


def test_a_bundled_adapter_brings_the_summary_budget_it_was_trained_for_unless_an_arm_sets_one(tmp_path: Path) -> None:
    adapter = ADAPTERS["comem-memory-135m"]
    arms = ["full", "kso", {"name": "kso", "label": "short", "memory_max_tokens": 64}, "sync"]
    chosen = EvalConfig(arms=arms, memory={"model": adapter.name}).arms
    assert [getattr(a, "memory_max_tokens", None) for a in chosen] == [None, adapter.summary_tokens, 64,
                                                                        adapter.summary_tokens]
    assert adapter.summary_tokens != KsoConfig().memory_max_tokens  # else this test shows nothing
    base = EvalConfig(arms=arms, memory={"model": adapter.base}).arms  # the same weights without it: the default
    assert base[1].memory_max_tokens == KsoConfig().memory_max_tokens
    flagged = load_config(None, {"memory": {"model": adapter.name}}, arm_options={"memory_max_tokens": 32})
    assert flagged.arms[1].memory_max_tokens == 32  # `comem run --memory-max-tokens 32` over the adapter's
