"""`comem train export-verl`: verl's RL dataset shape, and its reward module scoring against a loopback agent.

verl itself is not installed here: the parquet is checked column by column against what verl's RLHFDataset
and reward managers read, and the reward module is loaded from its file the way verl's
`custom_reward_function.path` loads it, then scored against a real HTTP stand-in agent.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from comem.core.errors import ComemError
from tests.extras import requires
from tests.train.data.helpers import OpenAIStandIn
from tests.train.trainers.helpers import REFERENCE, cli_app, grpo_records, write_grpo

pq = requires("pyarrow.parquet", "train")


def _reference_or_bash(body: dict) -> str:
    """The stand-in agent: the reference action if the summary mentions calc/ops.py, else `bash ls`."""
    call = REFERENCE if "calc/ops.py" in body["messages"][-1]["content"] else {"name": "bash", "arguments": {
        "command": "ls"}}
    return json.dumps(call if isinstance(call, dict) else {"name": call.name, "arguments": call.arguments})


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStandIn]:
    stand_in = OpenAIStandIn(_reference_or_bash)
    monkeypatch.setenv("COMEM_AGENT_URL", stand_in.url)
    monkeypatch.setenv("COMEM_AGENT_MODEL", "stand-in")
    monkeypatch.setenv("COMEM_AGENT_MAX_TOKENS", "64")
    yield stand_in
    stand_in.close()


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("custom_module", path)  # as verl's load_extern_type does
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_writes_verl_rows_a_reward_module_and_a_launcher(tmp_path: Path, agent: OpenAIStandIn) -> None:
    out = tmp_path / "verl"
    result = CliRunner().invoke(cli_app(), ["export-verl", "--data", str(write_grpo(tmp_path / "data")),
                                            "--out", str(out)])
    assert result.exit_code == 0, result.output
    train, held_out = pq.read_table(out / "train.parquet"), pq.read_table(out / "eval.parquet")
    assert (train.num_rows, held_out.num_rows) == (4, 2)
    assert train.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    row, record = train.to_pylist()[1], grpo_records(4)[1]
    assert row["data_source"] == "comem-swe" and row["ability"] == "memory-summary"
    assert row["prompt"] == [{"role": "user", "content": record.prompt[0].content}]
    assert row["reward_model"] == {"style": "rule", "ground_truth": record.reference_action}
    info = row["extra_info"]
    assert (info["split"], info["index"], info["record_id"], info["covered"]) == ("train", 1, "t1:1", 1)
    assert info["system_prompt"] == record.system_prompt and info["last_observation"] == record.last_observation
    launcher = (out / "run_grpo.sh").read_text()
    assert "verl.trainer.main_ppo" in launcher and "custom_reward_function.name=compute_score_batch" in launcher
    assert "actor_rollout_ref.rollout.n=16" in launcher and "kl_loss_coef=0.01" in launcher

    reward = _load(out / "comem_reward.py")
    good = reward.compute_score(row["data_source"], "The agent must open calc/ops.py next.",
                                row["reward_model"]["ground_truth"], info)
    assert good == 10.0
    batch = reward.compute_score_batch(
        data_sources=[row["data_source"]] * 2, solution_strs=["Look at calc/ops.py.", "It listed files."],
        ground_truths=[row["reward_model"]["ground_truth"]] * 2, extra_infos=[info, info])
    assert batch[0] == 10.0 and 0.0 < batch[1] < 4.0  # a wrong tool is capped at 3.5
    assert len(agent.requests) == 3
    assert "The agent must open calc/ops.py next." in agent.requests[0]["messages"][-1]["content"]


def test_verl_reward_and_export_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from comem.train.trainers.verl import compute_score, export_verl

    monkeypatch.delenv("COMEM_AGENT_URL", raising=False)
    with pytest.raises(ComemError, match="COMEM_AGENT_URL"):
        compute_score("comem-swe", "summary", REFERENCE.model_dump_json(), {"covered": 1})
    monkeypatch.setenv("COMEM_AGENT_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COMEM_AGENT_MODEL", "agent")
    with pytest.raises(ComemError, match="extra_info lacks"):
        compute_score("comem-swe", "summary", REFERENCE.model_dump_json(), {"covered": 1})
    with pytest.raises(ComemError, match="no train.parquet"):
        export_verl(tmp_path, tmp_path / "out")
