"""`comem train sft` on the tiny random model: a few real TRL steps, a logged loss, a loadable final checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.core.errors import ComemError
from comem.llm.checkpoint import check_checkpoint
from comem.train.trainers.settings import load_settings
from tests.train.trainers.helpers import assert_merged, cli_app, metrics, tiny_model, write_sft

FAST = ["max_steps=2", "batch_size=2", "per_device_batch_size=2", "learning_rate=1e-3", "warmup_ratio=0",
        "max_length=256"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


def _tensors(path: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_sft_cli_trains_logs_and_saves_a_loadable_checkpoint(tmp_path: Path, tiny: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    data, out = write_sft(tmp_path / "data"), tmp_path / "out"
    args = ["sft", "--data", str(data), "--model", str(tiny), "--out", str(out), "--preset", "cpu"]
    result = CliRunner().invoke(cli_app(), [*args, *(a for item in FAST for a in ("--set", item))])
    assert result.exit_code == 0, result.output
    assert f"hf:{out / 'final'}" in result.output.replace("\n", "")

    rows = [r for r in metrics(out) if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2] and all(r["loss"] > 0 for r in rows)
    curve = CliRunner().invoke(cli_app(), ["curves", str(out), "--every", "2"])  # the run's log, as TRL wrote it
    assert curve.exit_code == 0, curve.output
    assert f"means of 2: {(rows[0]['loss'] + rows[1]['loss']) / 2:.4g}" in curve.output
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["kind"] == "sft" and manifest["records"] == 4 and manifest["settings"]["max_steps"] == 2

    final = check_checkpoint(out / "final")
    before, after = _tensors(tiny), _tensors(final)
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the optimiser moved the weights
    model = AutoModelForCausalLM.from_pretrained(final)
    assert torch.isfinite(model(input_ids=torch.tensor([[1, 2, 3]])).logits).all()


def test_sft_with_lora_merges_the_adapter_into_plain_weights(tmp_path: Path, tiny: Path) -> None:
    import torch

    from comem.train.trainers.sft import train_sft

    data = write_sft(tmp_path / "data")
    settings = load_settings("sft", "cpu", [*FAST, "lora.enabled=true", "lora.r=4", "learning_rate=5e-2"])
    result = train_sft(data.parent, str(tiny), tmp_path / "out", settings)  # a directory holding sft.parquet
    assert result.steps == 2 and len(result.curve) == 2
    assert (result.out / "adapter" / "adapter_config.json").is_file()
    before, after = _tensors(tiny), _tensors(check_checkpoint(result.final))
    assert before.keys() == after.keys()  # merged: no lora_A/lora_B tensors, the base model's names only
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("proj" in k for k in changed)  # only the adapted linear layers moved


def test_the_cpu_lora_preset_trains_its_adapter_through_gradient_checkpointing(tmp_path: Path, tiny: Path) -> None:
    """cpu-lora recomputes activations in the backward pass (half the peak RAM on 8K-token rows,
    benchmarks/sft_memory.py); the adapter must still get gradients through the checkpointed layers."""
    import torch

    from comem.train.trainers.sft import train_sft

    settings = load_settings("sft", "cpu-lora", [*FAST, "learning_rate=5e-2"])
    assert settings.gradient_checkpointing and settings.lora.enabled and settings.max_length == 256  # FAST's
    result = train_sft(write_sft(tmp_path / "data").parent, str(tiny), tmp_path / "out", settings)
    norms = [row["grad_norm"] for row in metrics(result.out) if "grad_norm" in row]
    assert result.steps == 2 and norms and all(n > 0 for n in norms)
    before, after = _tensors(tiny), _tensors(check_checkpoint(result.final))
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_sft_init_adapter_trains_that_adapter_further(tmp_path: Path, tiny: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from comem.train.trainers.sft import train_sft

    data = write_sft(tmp_path / "data")
    first = train_sft(data, str(tiny), tmp_path / "first", load_settings("sft", "cpu", [
        *FAST, "lora.enabled=true", "lora.r=4", "lora.target_modules=[q_proj, v_proj]"]))
    # lora.enabled is off here and lora.r differs: the adapter decides both.
    again = train_sft(data, str(tiny), tmp_path / "again", load_settings("sft", "cpu", [*FAST, "lora.r=16"]),
                      init_adapter=first.out / "adapter")
    configs = [json.loads((r.out / "adapter" / "adapter_config.json").read_text()) for r in (first, again)]
    assert [(c["r"], sorted(c["target_modules"])) for c in configs] == [(4, ["q_proj", "v_proj"])] * 2
    before, after = (load_file(str(r.out / "adapter" / "adapter_model.safetensors")) for r in (first, again))
    assert before.keys() == after.keys() and any(not torch.equal(before[k], after[k]) for k in before)
    assert_merged(tiny, again.out / "adapter", again.final)
    assert json.loads((again.out / "train.json").read_text())["init_adapter"] == str(first.out / "adapter")


def test_sft_leaves_rows_longer_than_max_length_out_and_says_so(tmp_path: Path, tiny: Path) -> None:
    from comem.train.data.records import SftRecord, read_parquet, write_parquet
    from comem.train.trainers.sft import train_sft

    data = write_sft(tmp_path / "data")
    rows = read_parquet(data, SftRecord)
    turn = rows[0].prompt[-1]
    long = rows[0].model_copy(update={"record_id": "long",
                                      "prompt": [*rows[0].prompt[:-1], turn.model_copy(update={
                                          "content": turn.content + " calc/ops.py" * 300})]})
    write_parquet(data, [*rows, long], SftRecord)
    out = tmp_path / "out"
    args = ["sft", "--data", str(data), "--model", str(tiny), "--out", str(out), "--preset", "cpu"]
    result = CliRunner().invoke(cli_app(), [*args, *(a for item in FAST for a in ("--set", item))])
    assert result.exit_code == 0, result.output
    assert "rows left out, longer than max_length: 1" in result.output
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["records"] == len(rows) and manifest["left_out_too_long"] == 1
    with pytest.raises(ComemError, match="Every row .* is longer than max_length") as error:
        train_sft(data, str(tiny), tmp_path / "none", load_settings("sft", "cpu", [*FAST, "max_length=16"]))
    assert "--set max_length=" in error.value.fix


def test_sft_bad_input_is_one_clear_error(tmp_path: Path, tiny: Path) -> None:
    from comem.train.trainers.sft import train_sft

    settings = load_settings("sft", "cpu")
    with pytest.raises(ComemError, match="does not exist"):
        train_sft(tmp_path / "missing.parquet", str(tiny), tmp_path / "out", settings)
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ComemError, match="not a readable parquet"):
        train_sft(tmp_path / "junk.parquet", str(tiny), tmp_path / "out", settings)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(ComemError, match="no model_type"):
        train_sft(write_sft(tmp_path / "data"), str(broken), tmp_path / "out", settings)
    result = CliRunner().invoke(cli_app(), ["sft", "--data", str(tmp_path / "data"), "--model", str(tiny),
                                            "--set", "learning_rat=1"])
    assert result.exit_code == 2 and "learning_rat" in result.output
