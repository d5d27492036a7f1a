"""`--init-adapter` checks on real files: which base an adapter continues on, and what it brings as LoRA settings.

Training from an adapter is covered end to end in test_sft.py and test_grpo.py; these cases need no model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.llm.models import MODELS
from comem.train.trainers.init_adapter import read_init_adapter


def _dequantised(path: Path, model: str) -> Path:
    """A dir carrying the marker `weights.dequantise` writes for a bundled model."""
    path.mkdir(parents=True)
    (path / "comem-source.json").write_text(json.dumps({"gguf": f"{model}.gguf", "sha256": MODELS[model].sha256}))
    return path


def _adapter(path: Path, trained_on: str, **config: object) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "base_model_name_or_path": trained_on,
                                                          **config}))
    (path / "adapter_model.safetensors").write_bytes(b"")
    return path


def test_an_adapter_continues_on_the_same_bundled_weights_wherever_they_are_cached(tmp_path: Path) -> None:
    trained_on = _dequantised(tmp_path / "old-cache" / "smollm2-135m", "smollm2-135m")
    _adapter(tmp_path / "run" / "adapter", str(trained_on), r=4, lora_alpha=8, lora_dropout=0.0,
             target_modules=["v_proj", "q_proj"])
    base = _dequantised(tmp_path / "new-cache" / "smollm2-135m", "smollm2-135m")

    init = read_init_adapter(tmp_path / "run", base)  # the run dir stands for its adapter/
    assert init.path == tmp_path / "run" / "adapter"
    assert init.lora.model_dump() == {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0,
                                      "target_modules": ["q_proj", "v_proj"]}
    named = _adapter(tmp_path / "named", "smollm2-135m", r=2, lora_alpha=4, target_modules="all-linear")
    assert read_init_adapter(named, base).lora.target_modules == "all-linear"


def test_an_adapter_on_other_weights_names_the_base_to_pass(tmp_path: Path) -> None:
    trained_on = _dequantised(tmp_path / "cache" / "smollm2-135m", "smollm2-135m")
    adapter = _adapter(tmp_path / "adapter", str(trained_on), r=4, lora_alpha=8)
    other = next(name for name in MODELS if name != "smollm2-135m")
    with pytest.raises(ComemError, match="not on") as caught:
        read_init_adapter(adapter, _dequantised(tmp_path / other, other))
    assert caught.value.fix is not None and caught.value.fix.startswith("pass --model smollm2-135m ")
    with pytest.raises(ComemError, match="not on") as caught:
        read_init_adapter(_adapter(tmp_path / "unnamed", "", r=4), trained_on)
    (adapter / "adapter_config.json").write_text("{not json")
    with pytest.raises(ComemError, match="is not valid JSON"):
        read_init_adapter(adapter, trained_on)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(ComemError, match="holds no adapter_model.safetensors"):
        read_init_adapter(adapter, trained_on)
