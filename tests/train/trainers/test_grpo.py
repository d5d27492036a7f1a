"""`comem train grpo` on the tiny random model with the real ActionConsistencyReward and a loopback stand-in agent.

The stand-in answers with the reference action for some summaries and with no action for others, so each
step's logged reward is checkable against the requests the agent actually received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.core.errors import ComemError
from comem.llm.checkpoint import check_checkpoint
from comem.llm.endpoint import ModelConfig
from comem.train.trainers.settings import load_settings
from tests.train.data.helpers import OpenAIStandIn
from tests.train.trainers.helpers import (
    assert_merged,
    cli_app,
    is_rewarded,
    metrics,
    parity_agent,
    tiny_model,
    write_grpo,
    write_sft,
)

# 2 prompts x 2 summaries of <= 8 tokens per step, one optimiser step per round.
FAST = ["max_steps=2", "prompts_per_step=2", "num_generations=2", "batch_size=4", "per_device_batch_size=2",
        "max_completion_length=8", "agent_max_concurrency=4", "agent_max_tokens=64", "learning_rate=1e-3"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, tiny: Path) -> Path:
    """A real 2-step SFT LoRA run (r 4, q/v projections) on the tiny model: its --out dir."""
    from comem.train.trainers.sft import train_sft

    root = tmp_path_factory.mktemp("sft")
    settings = load_settings("sft", "cpu", ["max_steps=2", "batch_size=2", "per_device_batch_size=2",
                                            "learning_rate=5e-2", "max_length=256", "lora.enabled=true", "lora.r=4",
                                            "lora.alpha=8", "lora.target_modules=[q_proj, v_proj]"])
    return train_sft(write_sft(root / "data"), str(tiny), root / "out", settings).out


@pytest.fixture
def agent() -> Iterator[OpenAIStandIn]:
    stand_in = OpenAIStandIn(parity_agent)
    yield stand_in
    stand_in.close()


def test_grpo_cli_logs_the_agent_reward_per_step_and_saves_a_checkpoint(tmp_path: Path, tiny: Path,
                                                                        agent: OpenAIStandIn) -> None:
    from transformers import AutoModelForCausalLM

    data, out = write_grpo(tmp_path / "data"), tmp_path / "out"
    args = ["grpo", "--data", str(data), "--model", str(tiny), "--out", str(out), "--preset", "cpu",
            "--agent-url", agent.url, "--agent-model", "stand-in"]
    result = CliRunner().invoke(cli_app(), [*args, *(a for item in FAST for a in ("--set", item))])
    assert result.exit_code == 0, result.output

    # Every summary went to the agent once, framed as the agent sees it at evaluation: system + summary + query.
    assert len(agent.requests) == 2 * 4
    for request in agent.requests:
        assert request["model"] == "stand-in" and request["temperature"] == 0.0
        assert request["messages"][0] == {"role": "system", "content": "You fix bugs with tools."}
        assert "calc/ tests/ (task" in request["messages"][-1]["content"]  # the last observation as the query
    # The logged reward of each step is the mean of 10 (reference action) / 0 (no action) over its 4 requests.
    rows = [r for r in metrics(out) if "reward" in r]
    assert [r["step"] for r in rows] == [1, 2]
    for step, row in enumerate(rows):
        expected = [10.0 if is_rewarded(body) else 0.0 for body in agent.requests[4 * step: 4 * step + 4]]
        assert row["reward"] == pytest.approx(sum(expected) / 4)
        assert "kl" in row and "entropy" in row and row["completions/max_length"] <= 8
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["kind"] == "grpo" and manifest["agent"]["url"] == agent.url and "api_key" not in manifest["agent"]
    AutoModelForCausalLM.from_pretrained(check_checkpoint(out / "final"))


def test_grpo_with_an_unreachable_agent_stops_before_training(tmp_path: Path, tiny: Path) -> None:
    from comem.train.trainers.grpo import train_grpo

    with pytest.raises(ComemError, match="cannot reach the LLM server"):
        train_grpo(write_grpo(tmp_path / "data"), str(tiny), tmp_path / "out", load_settings("grpo", "cpu", FAST),
                   ModelConfig(model="agent", url="http://127.0.0.1:9/v1", max_retries=0))
    assert not (tmp_path / "out" / "final").exists()


def test_grpo_rejects_sft_data(tmp_path: Path, tiny: Path) -> None:
    from tests.train.trainers.helpers import write_sft

    result = CliRunner().invoke(cli_app(), ["grpo", "--data", str(write_sft(tmp_path)), "--model", str(tiny),
                                            "--agent-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 2 and "lacks the column" in result.output


def _grpo_cli(data: Path, model: Path | str, out: Path, agent_url: str, *extra: str) -> list[str]:
    return ["grpo", "--data", str(data), "--model", str(model), "--out", str(out), "--preset", "cpu",
            "--agent-url", agent_url, "--agent-model", "stand-in", *(a for item in FAST for a in ("--set", item)),
            *extra]


def test_grpo_continues_the_sft_adapter_into_one_adapter_on_the_base(tmp_path: Path, tiny: Path, sft_run: Path,
                                                                      agent: OpenAIStandIn) -> None:
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "grpo"
    # The run dir stands for its adapter/; --set lora.r is overruled by the adapter's own shape.
    args = _grpo_cli(write_grpo(tmp_path / "data"), tiny, out, agent.url, "--init-adapter", str(sft_run),
                     "--set", "lora.r=16", "--set", "weight_decay=0")
    result = CliRunner().invoke(cli_app(), args)
    assert result.exit_code == 0, result.output
    assert len(agent.requests) == 2 * 4 and [r["step"] for r in metrics(out) if "reward" in r] == [1, 2]

    sft_config, config = (json.loads((d / "adapter" / "adapter_config.json").read_text()) for d in (sft_run, out))
    assert (config["r"], config["lora_alpha"]) == (sft_config["r"], sft_config["lora_alpha"]) == (4, 8)
    assert sorted(config["target_modules"]) == sorted(sft_config["target_modules"]) == ["q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == str(tiny)  # still relative to the base, not to the SFT model
    before, after = (load_file(str(d / "adapter" / "adapter_model.safetensors")) for d in (sft_run, out))
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # GRPO moved the SFT adapter's weights
    assert not (out / "adapter" / "ref").exists()  # TRL's frozen KL copy is not shipped
    assert_merged(tiny, out / "adapter", check_checkpoint(out / "final"))
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["init_adapter"] == str(sft_run / "adapter")
    assert manifest["settings"]["lora"] == {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.05,
                                            "target_modules": ["q_proj", "v_proj"]}


def test_grpo_init_adapter_bad_input_is_one_clear_error(tmp_path: Path, tiny: Path, sft_run: Path) -> None:
    data, url = write_grpo(tmp_path / "data"), "http://127.0.0.1:9/v1"  # nothing listens: no check reaches the agent
    (tmp_path / "prefix").mkdir()
    (tmp_path / "prefix" / "adapter_config.json").write_text(json.dumps({"peft_type": "PREFIX_TUNING"}))
    cases = [
        ((tiny, "--init-adapter", str(tmp_path / "missing")), "is not a directory"),
        ((tiny, "--init-adapter", str(tiny)), "holds no adapter_config.json"),
        ((tiny, "--init-adapter", str(tmp_path / "prefix")), "is not a PEFT LoRA adapter"),
        ((sft_run / "final", "--init-adapter", str(sft_run)), f"pass --model {tiny} "),  # the merged SFT model
        ((tiny, "--init-adapter", str(sft_run), "--no-lora"), "drop --no-lora"),
    ]
    for (model, *extra), expected in cases:
        result = CliRunner().invoke(cli_app(), _grpo_cli(data, model, tmp_path / "out", url, *extra))
        output = " ".join(result.output.split())
        assert result.exit_code == 2 and expected in output and "Traceback" not in output, output
    assert not (tmp_path / "out").exists()
