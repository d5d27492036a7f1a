"""A PEFT LoRA adapter -> a GGUF LoRA adapter that the embedded llama.cpp server applies to a bundled GGUF model.

A trained memory model then ships as a file of a few MB next to the quantised base it was trained from, instead of
a merged full checkpoint that only transformers can serve. The file is llama.cpp's adapter format: the base's
`general.architecture`, `general.type=adapter`, `adapter.type=lora`, `adapter.lora.alpha`, and for each adapted
base weight `blk.N.attn_q.weight` a pair `blk.N.attn_q.weight.lora_a` (A: r x in) and `.lora_b` (B: out x r).
llama.cpp adds (alpha / r) · B·A·x, r read from each pair, which is PEFT's own scaling; rsLoRA's alpha / sqrt(r) is
folded into B.

The base is the GGUF the adapter will run on. Its tensor shapes are checked against every pair here, so a
mismatch is a clear error now rather than a failed server start later. Llama GGUFs store the q/k projection rows
in llama.cpp's rotary order (HF->GGUF conversion permutes them, transformers' GGUF loader undoes it); the rows of
B for q_proj/k_proj are permuted the same way. Qwen2 needs no permutation.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from comem.core.errors import ComemError
from comem.llm.checkpoint import require_train_extra
from comem.llm.models import MODELS, resolve_model
from comem.train.trainers.weights import source_sha256

DType = Literal["f16", "f32"]
PERMUTED_QK = {"llama": True, "qwen2": False}  # supported GGUF architectures: are their q/k rows stored permuted?
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")
_TARGETS_FIX = f"train the LoRA on the attention and MLP projections only (target_modules: {', '.join(TARGETS)} " \
               "or all-linear)."


@dataclass(frozen=True)
class GgufAdapter:
    """What the export wrote: the file, the base GGUF it applies to, and how to select it."""

    path: Path
    base: str  # a bundled model name, or the base GGUF's path
    architecture: str
    rank: int  # the largest rank of any pair
    alpha: float
    pairs: int
    size: int  # bytes

    @property
    def spec(self) -> str:
        """The model spec that serves base + adapter (`--memory-model SPEC`)."""
        return f"{self.base}+lora:{self.path}"


def export_lora_gguf(adapter_dir: Path, out: Path, *, base: str | None = None, dtype: DType = "f16") -> GgufAdapter:
    """Convert `adapter_dir` (adapter_config.json + adapter_model.safetensors) into the GGUF adapter `out`.

    `base` is a bundled model name or a GGUF path; by default the bundled model the adapter's base checkpoint was
    dequantised from (its `comem-source.json`)."""
    require_train_extra(("torch", "safetensors", "gguf"))
    import gguf
    import numpy as np

    config = _adapter_config(adapter_dir)
    base_name, base_path = _base_gguf(config, base)
    reader = gguf.GGUFReader(base_path)
    arch = _field(reader, "general.architecture")
    if arch not in PERMUTED_QK:
        raise ComemError(f"the base model {base_name} has architecture {arch!r}; the GGUF adapter export supports "
                         f"{', '.join(PERMUTED_QK)}.",
                         fix="train the memory model from a bundled model: " + ", ".join(MODELS) + ".")
    blocks = int(_field(reader, f"{arch}.block_count"))
    heads = int(_field(reader, f"{arch}.attention.head_count"))
    kv_heads = int(_field(reader, f"{arch}.attention.head_count_kv"))
    shapes = {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}  # ggml order: (in, out)
    names = gguf.TensorNameMap(gguf.MODEL_ARCH[arch.upper()], blocks)
    alpha = float(config["lora_alpha"])
    dtype_np = np.float16 if dtype == "f16" else np.float32
    writer = gguf.GGUFWriter(None, arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    ranks = []
    for module, (a, b) in _pairs(adapter_dir).items():
        target = _gguf_name(names, module, adapter_dir)
        rank, fan_in, fan_out = a.shape[0], a.shape[1], b.shape[0]
        if b.shape[1] != rank or shapes.get(target) != (fan_in, fan_out):
            raise ComemError(f"{adapter_dir}: {module} (A {tuple(a.shape)}, B {tuple(b.shape)}) does not fit the base "
                             f"weight {target} {shapes.get(target, 'absent')} of {base_name}.",
                             fix="export against the model the adapter was trained from (--base NAME|GGUF).")
        if config.get("use_rslora"):
            b = b * math.sqrt(rank)  # PEFT scales by alpha / sqrt(r); llama.cpp by alpha / r
        if PERMUTED_QK[arch] and module.endswith(("q_proj", "k_proj")):
            b = _rotary_order(b, heads if module.endswith("q_proj") else kv_heads)
        writer.add_tensor(f"{target}.lora_a", a.astype(dtype_np))
        writer.add_tensor(f"{target}.lora_b", b.astype(dtype_np))
        ranks.append(rank)
    _write(writer, out)
    return GgufAdapter(path=out, base=base_name, architecture=arch, rank=max(ranks), alpha=alpha, pairs=len(ranks),
                       size=out.stat().st_size)


def _write(writer: Any, out: Path) -> None:
    """Into a temp file renamed into place: a failed export leaves no half-written adapter to be loaded."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        writer.write_header_to_file(path=tmp)
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _adapter_config(adapter_dir: Path) -> dict[str, Any]:
    """adapter_config.json, refused unless it is a plain LoRA that llama.cpp can apply."""
    fix = "pass the adapter/ directory a --lora training run wrote (adapter_config.json + adapter_model.safetensors)."
    path = adapter_dir / "adapter_config.json"
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise ComemError(f"{adapter_dir} holds no adapter_model.safetensors.", fix=fix)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ComemError(f"{adapter_dir} holds no adapter_config.json.", fix=fix) from None
    except ValueError as exc:
        raise ComemError(f"{path} is not valid JSON ({exc}).", fix=fix) from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA" or "lora_alpha" not in config:
        raise ComemError(f"{path} is not a PEFT LoRA adapter (peft_type {config.get('peft_type')!r}).", fix=fix)
    unsupported = {"use_dora": "DoRA", "modules_to_save": "fully trained modules (modules_to_save)",
                   "alpha_pattern": "per-module alpha (alpha_pattern)", "lora_bias": "LoRA biases"}
    for key, what in unsupported.items():
        if config.get(key):
            raise ComemError(f"{path}: {what} cannot be expressed in a llama.cpp LoRA adapter.",
                             fix=f"train without {key}, or serve the merged checkpoint as hf:OUT/final.")
    if config.get("bias", "none") != "none":
        raise ComemError(f"{path}: trained biases (bias={config['bias']!r}) cannot be expressed in a llama.cpp LoRA "
                         "adapter.", fix="train with bias='none', or serve the merged checkpoint as hf:OUT/final.")
    return config


def _base_gguf(config: dict[str, Any], base: str | None) -> tuple[str, Path]:
    """(name to select it by, GGUF file) of the base the adapter applies to."""
    if base is not None:
        return base, resolve_model(base)
    trained_on = str(config.get("base_model_name_or_path") or "")
    fix = "pass --base with the bundled model or GGUF file the adapter was trained from."
    if trained_on in MODELS:
        return trained_on, resolve_model(trained_on)
    sha = source_sha256(Path(trained_on))
    if sha is None:
        raise ComemError(f"the adapter was trained on {trained_on or 'an unnamed base'}, which is not a bundled GGUF "
                         "model dequantised by comem; a GGUF adapter must apply to the exact weights it was trained "
                         "on.", fix=fix)
    name = next((spec.name for spec in MODELS.values() if spec.sha256 == sha), None)
    if name is None:
        raise ComemError(f"the adapter's base {trained_on} came from a GGUF that is not bundled (sha256 {sha[:12]}…).",
                         fix=fix)
    return name, resolve_model(name)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ComemError(f"the base GGUF has no {key}.", fix="pass --base with a complete GGUF model file.")
    return field.contents()


def _pairs(adapter_dir: Path) -> dict[str, tuple[Any, Any]]:
    """module -> (A, B) as float32 numpy arrays, in file order; anything else in the file is refused."""
    from safetensors.torch import load_file

    found: dict[str, dict[str, Any]] = {}
    for key, tensor in load_file(adapter_dir / "adapter_model.safetensors").items():
        match = _KEY.match(key)
        if match is None:
            raise ComemError(f"{adapter_dir}: {key} is not a LoRA matrix of a linear layer (PEFT saves base weights "
                             "it adapted, e.g. tied embeddings, as they are).", fix=_TARGETS_FIX)
        found.setdefault(match["module"], {})[match["side"]] = tensor.float().numpy()
    if not found:
        raise ComemError(f"{adapter_dir}/adapter_model.safetensors holds no LoRA tensors.", fix=_TARGETS_FIX)
    for module, sides in found.items():
        if set(sides) != {"A", "B"}:
            raise ComemError(f"{adapter_dir}: {module} has lora_{'A' if 'A' in sides else 'B'} only.",
                             fix="save the adapter again with PEFT's save_pretrained.")
    return {module: (sides["A"], sides["B"]) for module, sides in found.items()}


def _gguf_name(names: Any, module: str, adapter_dir: Path) -> str:
    """`model.layers.3.self_attn.q_proj` -> `blk.3.attn_q.weight`, for the projections inside the blocks."""
    name = names.get_name(module) if module.rsplit(".", 1)[-1] in TARGETS else None
    if name is None:
        raise ComemError(f"{adapter_dir}: LoRA on {module} is not supported by the GGUF export.", fix=_TARGETS_FIX)
    return f"{name}.weight"


def _rotary_order(rows: Any, heads: int) -> Any:
    """Reorder the output rows of each head from HF's half-split rotary layout to llama.cpp's interleaved one."""
    out_features = rows.shape[0]
    return rows.reshape(heads, 2, out_features // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)
