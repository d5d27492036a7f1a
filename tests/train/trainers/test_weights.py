"""Base weights: the tiny test model, checkpoint checks, and a bundled GGUF dequantised into a reusable HF dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.llm.checkpoint import check_checkpoint
from comem.train.trainers.weights import base_model_dir
from tests.train.trainers.helpers import tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


def test_tiny_model_is_a_chat_checkpoint(tiny: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert check_checkpoint(tiny) == tiny.resolve()
    assert base_model_dir(str(tiny)) == tiny.resolve()
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert "<|im_start|>assistant" in tokenizer.decode(ids["input_ids"] if isinstance(ids, dict) else ids)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    assert model.config.num_hidden_layers == 2 and model.config.vocab_size == len(tokenizer)
    logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, len(tokenizer)) and torch.isfinite(logits).all()


def test_bad_base_models_are_comem_errors(tmp_path: Path, tiny: Path) -> None:
    with pytest.raises(ComemError, match="unknown base model"):
        base_model_dir("gpt-17")
    with pytest.raises(ComemError, match="does not exist"):
        base_model_dir(str(tmp_path / "nowhere" / "ckpt"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ComemError, match="no config.json"):
        check_checkpoint(empty)
    (empty / "config.json").write_text("{not json")
    with pytest.raises(ComemError, match="not valid JSON"):
        check_checkpoint(empty)
    (empty / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ComemError, match="no model weights"):
        check_checkpoint(empty)
    (empty / "model.safetensors").write_bytes((tiny / "model.safetensors").read_bytes())
    with pytest.raises(ComemError, match="no tokenizer"):
        check_checkpoint(empty)


@pytest.mark.slow
def test_bundled_gguf_is_dequantised_once_and_reused(tmp_path: Path) -> None:
    """SmolLM2's Q4_1 GGUF -> float HF weights that still answer like the model, cached by the GGUF's sha256."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = base_model_dir("smollm2-135m", cache_dir=tmp_path)
    assert (target / "comem-source.json").is_file() and check_checkpoint(target)
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert base_model_dir("smollm2-135m", cache_dir=tmp_path) == target
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rebuilt

    tokenizer = AutoTokenizer.from_pretrained(target)
    model = AutoModelForCausalLM.from_pretrained(target, dtype="float32")
    enc = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    out = model.generate(**enc, max_new_tokens=16, do_sample=False)
    assert "4" in tokenizer.decode(out[0, enc["input_ids"].shape[1]:])
