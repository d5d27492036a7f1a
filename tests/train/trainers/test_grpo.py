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
from tests.train.trainers.helpers import cli_app, is_rewarded, metrics, parity_agent, tiny_model, write_grpo

# 2 prompts x 2 summaries of <= 8 tokens per step, one optimiser step per round.
FAST = ["max_steps=2", "prompts_per_step=2", "num_generations=2", "batch_size=4", "per_device_batch_size=2",
        "max_completion_length=8", "agent_max_concurrency=4", "agent_max_tokens=64", "learning_rate=1e-3"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


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
