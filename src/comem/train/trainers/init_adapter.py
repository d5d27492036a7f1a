"""Keep training an existing LoRA adapter (`--init-adapter`), so SFT then GRPO ship as one adapter on the base.

A GRPO LoRA trained on the merged SFT `final/` is relative to that checkpoint, which no GGUF export can serve
next to the bundled model. Continuing the SFT adapter itself keeps every update in one adapter relative to the
original base: `comem train export-gguf` turns it into one file. The adapter fixes the LoRA shape (r, alpha,
dropout, targets), and it must have been trained on the very base weights `--model` names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from comem.core.errors import ComemError
from comem.llm.models import MODELS
from comem.train.trainers.settings import CommonSettings, LoraSettings
from comem.train.trainers.weights import source_sha256

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
S = TypeVar("S", bound=CommonSettings)
_FIX = "pass the adapter/ directory of a --lora training run (adapter_config.json + adapter_model.safetensors), " \
       "or that run's --out directory."


@dataclass(frozen=True)
class InitAdapter:
    """A checked PEFT LoRA adapter to continue, and its LoRA shape as settings."""

    path: Path
    lora: LoraSettings

    def applied_to(self, settings: S) -> S:
        """`settings` with LoRA on and shaped as the adapter is (the `--set lora.*` values do not apply)."""
        return settings.model_copy(update={"lora": self.lora})

    def load(self, base_dir: Path, dtype: str) -> Any:
        """The base model with this adapter attached and trainable: TRL trains it as it is (no peft_config)."""
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
        return PeftModel.from_pretrained(base, self.path, is_trainable=True)


def read_init_adapter(path: Path, base_dir: Path) -> InitAdapter:
    """`path` (an adapter dir, or a run dir holding `adapter/`) checked to be a LoRA trained on `base_dir`."""
    if not path.is_dir():
        raise ComemError(f"--init-adapter {path} is not a directory.", fix=_FIX)
    if not (path / CONFIG).is_file() and (path / "adapter" / CONFIG).is_file():
        path = path / "adapter"
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except OSError:
        raise ComemError(f"--init-adapter {path} holds no {CONFIG} (a merged final/ is not an adapter).",
                         fix=_FIX) from None
    except ValueError as exc:
        raise ComemError(f"{path / CONFIG} is not valid JSON ({exc}).", fix=_FIX) from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        kind = config.get("peft_type") if isinstance(config, dict) else None
        raise ComemError(f"--init-adapter {path} is not a PEFT LoRA adapter (peft_type {kind!r}).", fix=_FIX)
    if not (path / WEIGHTS).is_file():
        raise ComemError(f"--init-adapter {path} holds no {WEIGHTS}.", fix=_FIX)
    trained_on = str(config.get("base_model_name_or_path") or "")
    if not _same_base(trained_on, base_dir):
        raise ComemError(f"the adapter {path} was trained on {trained_on or 'an unnamed base'}, not on {base_dir}; "
                         "an adapter only continues on the exact weights it was trained on.",
                         fix=f"pass --model {_model_name(trained_on)} (the base it was trained from, not a merged "
                             "final/).")
    targets = config.get("target_modules") or "all-linear"
    return InitAdapter(path=path, lora=LoraSettings(
        enabled=True, r=config.get("r", 8), alpha=config.get("lora_alpha", 8),
        dropout=config.get("lora_dropout", 0.0), target_modules=targets if isinstance(targets, str) else
        sorted(targets)))


def _same_base(trained_on: str, base_dir: Path) -> bool:
    """The same dir, or dirs dequantised from the same bundled GGUF (the cache may have moved)."""
    if trained_on in MODELS:
        return source_sha256(base_dir) == MODELS[trained_on].sha256
    if not trained_on:
        return False
    source = source_sha256(Path(trained_on))
    return Path(trained_on).resolve() == base_dir.resolve() or (
        source is not None and source == source_sha256(base_dir))


def _model_name(trained_on: str) -> str:
    """The bundled name of the adapter's base when it was dequantised from one, else its path."""
    source = source_sha256(Path(trained_on)) if trained_on else None
    return next((spec.name for spec in MODELS.values() if source and spec.sha256 == source), trained_on or "BASE")
