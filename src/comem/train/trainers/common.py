"""What an SFT and a GRPO run share: records in, LoRA config, a per-step metrics log, and a plain HF checkpoint out.

Output directory layout (`--out`):

    train.json        what was trained: kind, base model, data, settings (for reproducing the run)
    metrics.jsonl     one line per logged step: TRL's logs (loss, lr; GRPO: reward, reward_std, kl, entropy, ...)
    checkpoint-N/     TRL's periodic checkpoints (save_steps)
    adapter/          the LoRA adapter, with --lora (with --init-adapter: that adapter, trained further)
    final/            the trained model as a plain HF checkpoint (LoRA merged): serve it as `hf:OUT/final`
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from comem.core.errors import ComemError
from comem.train.curves import DEFAULT_METRIC, METRICS, read_curve
from comem.train.data.records import R, read_parquet
from comem.train.trainers.init_adapter import InitAdapter
from comem.train.trainers.settings import CommonSettings, LoraSettings


@dataclass(frozen=True)
class TrainResult:
    """Where the run went and how it ended; `curve` is the per-step series of the run's key metric."""

    out: Path
    final: Path
    steps: int
    wall_s: float
    metric: str
    curve: list[float]
    left_out: int = 0  # SFT rows longer than max_length, left out rather than cut


def load_records(path: Path, kind: type[R], default_name: str, columns: tuple[str, ...] | None = None) -> Any:
    """A parquet file, or a directory holding `default_name`, as a `datasets.Dataset` of validated records."""
    from datasets import Dataset

    file = path / default_name if path.is_dir() else path
    records = read_parquet(file, kind)
    if not records:
        raise ComemError(f"{file} holds no records.", fix="build the data again with more trajectories.")
    rows = [r.model_dump(mode="json") for r in records]
    if columns is not None:
        rows = [{c: row[c] for c in columns} for row in rows]
    return Dataset.from_list(rows)


def trainer_model(base_dir: Path, settings: CommonSettings, init: InitAdapter | None) -> tuple[Any, Any]:
    """(model, peft_config) for a TRL trainer: the base dir and a fresh LoRA, or the base with `init` attached.

    Load a model only after the trainer's config exists: under DeepSpeed ZeRO-3 that config shards the load."""
    if init is not None:
        return init.load(base_dir, settings.dtype), None
    return str(base_dir), lora_config(settings.lora)


def lora_config(lora: LoraSettings) -> Any:
    if not lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules,
                      task_type="CAUSAL_LM")


class MetricsLog(TrainerCallback):
    """Appends every log TRL emits to metrics.jsonl (main process only), so curves survive without W&B."""

    def __init__(self, out: Path) -> None:
        self.path = out / METRICS

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": state.global_step, **logs}) + "\n")


def run_training(trainer: Any, out: Path, manifest: dict[str, Any], settings: CommonSettings,
                 base_dir: Path) -> TrainResult:
    """Train, then save `final/` as a plain checkpoint (merging LoRA); metrics.jsonl is started afresh. The
    curve returned is the manifest's kind's metric (SFT loss, GRPO reward), as `comem train curves` reads it."""
    accelerator = trainer.accelerator
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train.json").write_text(json.dumps(manifest, indent=2, default=str))
        (out / METRICS).unlink(missing_ok=True)
    started = time.monotonic()
    trainer.train()
    final = out / "final"
    if settings.lora.enabled:
        trainer.save_model(str(out / "adapter"))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            shutil.rmtree(out / "adapter" / "ref", ignore_errors=True)  # GRPO's frozen KL copy of an --init-adapter
            merge_lora(base_dir, out / "adapter", final, settings.dtype)
    else:
        trainer.save_model(str(final))
    accelerator.wait_for_everyone()
    metric = DEFAULT_METRIC[manifest["kind"]]
    return TrainResult(out=out, final=final, steps=trainer.state.global_step, wall_s=time.monotonic() - started,
                       metric=metric, curve=read_curve(out / METRICS, metric))


def merge_lora(base_dir: Path, adapter: Path, final: Path, dtype: str) -> None:
    """Base weights + adapter -> one plain checkpoint that any HF loader (and `hf:` serving) reads."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    merged.save_pretrained(final)
    AutoTokenizer.from_pretrained(adapter if (adapter / "tokenizer_config.json").is_file() else base_dir) \
        .save_pretrained(final)


