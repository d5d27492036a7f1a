"""Checks before a Hugging Face checkpoint is served or trained: the `train` extra is installed, and the directory
holds a config, weights and a tokenizer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from comem.core.errors import ComemError

_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


_TOKENIZER = ("tokenizer.json", "tokenizer.model", "vocab.json")


_TRAIN_MODULES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")


def require_train_extra(modules: tuple[str, ...] = _TRAIN_MODULES) -> None:
    """The trainers' libraries come with the `train` extra; name it instead of a ModuleNotFoundError."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ComemError(f"training needs {', '.join(missing)}, which is not installed.", fix=TRAIN_EXTRA_FIX)


def check_checkpoint(path: Path) -> Path:
    """Cheap checks that `path` is a loadable causal-LM checkpoint: config, weights and tokenizer files."""
    fix = "pass a directory written by save_pretrained (e.g. the `final/` dir of `comem train sft|grpo`)."
    if not path.is_dir():
        raise ComemError(f"checkpoint directory {path} does not exist.", fix=fix)
    config = path / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except OSError:
        raise ComemError(f"{path} is not a Hugging Face checkpoint (no config.json).", fix=fix) from None
    except ValueError as exc:
        raise ComemError(f"{config} is not valid JSON ({exc}).", fix=fix) from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise ComemError(f"{config} has no model_type.", fix=fix)
    if not any((path / name).is_file() for name in _WEIGHTS):
        raise ComemError(f"{path} holds no model weights ({' / '.join(_WEIGHTS[::2])}).", fix=fix)
    if not any((path / name).is_file() for name in _TOKENIZER):
        raise ComemError(f"{path} holds no tokenizer (tokenizer.json).", fix=fix)
    return path.resolve()


TRAIN_EXTRA_FIX = "pip install 'comem[train]' (or pip install -e '.[train]')."
