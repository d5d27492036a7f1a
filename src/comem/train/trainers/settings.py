"""Training settings: named YAML presets (presets/*.yaml) validated by pydantic, plus `--set key=value` overrides.

A preset file holds an `sft:` and a `grpo:` section; a command reads its own. Batch sizes are global (summed over
GPUs, as in the original's verl scripts), so one preset fits any GPU count: gradient accumulation is derived from
the number of processes at launch. Anything TRL accepts that is not modelled here goes under `trl:` verbatim.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from comem.core.config import StrictModel, deep_merge
from comem.core.config import first_error as first_error
from comem.core.errors import ComemError

PRESET_DIR = Path(__file__).parent / "presets"
Kind = Literal["sft", "grpo"]


class LoraSettings(StrictModel):
    """PEFT LoRA adapters (used with `--lora`); the final checkpoint is merged back into plain weights."""

    enabled: bool = False
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"


class CommonSettings(StrictModel):
    """What both trainers share: optimiser, schedule, batch, precision, checkpoints."""

    learning_rate: float = Field(gt=0)
    lr_scheduler_type: str = "constant"
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    max_grad_norm: float = 1.0
    num_train_epochs: float = Field(default=1.0, gt=0)
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = Field(ge=1)  # samples per optimiser step, all processes together (GRPO: completions)
    per_device_batch_size: int = Field(default=1, ge=1)
    dtype: Literal["float32", "bfloat16"] = "float32"  # weights (and optimiser state); keep float32 for small lrs
    bf16: bool = False  # bf16 autocast over float32 weights (mixed precision)
    gradient_checkpointing: bool = False
    logging_steps: int = Field(default=1, ge=1)
    save_steps: int = Field(default=500, ge=1)
    save_total_limit: int | None = None
    seed: int = 42
    lora: LoraSettings = Field(default_factory=LoraSettings)
    trl: dict[str, Any] = Field(default_factory=dict)  # extra TRL/transformers config fields, passed through

    def gradient_accumulation(self, processes: int) -> int:
        per_step = self.per_device_batch_size * processes
        if self.batch_size % per_step:
            raise ComemError(f"batch_size {self.batch_size} is not a multiple of per_device_batch_size "
                             f"{self.per_device_batch_size} x {processes} processes.",
                             fix="--set batch_size=... or per_device_batch_size=... so that it divides.")
        return self.batch_size // per_step


class SftSettings(CommonSettings):
    """Supervised warm-up on teacher summaries (prompt-completion; loss on the completion only)."""

    max_length: int = Field(default=4096, ge=16)  # prompt + completion tokens; SFT leaves longer rows out


class GrpoSettings(CommonSettings):
    """GRPO with the frozen agent's action-consistency reward (or the agent-free needed-names reward)."""

    prompts_per_step: int = Field(ge=1)  # the original's train_batch_size
    num_generations: int = Field(ge=2)  # completions per prompt (group size)
    max_completion_length: int = Field(ge=1)
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    beta: float = Field(default=0.01, ge=0)  # KL coefficient (k3 estimator = verl's low_var_kl); 0 drops the ref model
    epsilon: float = 0.2
    epsilon_high: float | None = 0.2
    dual_clip: float | None = 3.0  # TRL `delta`: caps the ratio on the unclipped term = PPO dual-clip c
    entropy_coef: float = 0.0
    loss_type: str = "dapo"  # token-mean over the batch, as verl's loss_agg_mode=token-mean
    scale_rewards: Literal["group", "batch", "none"] = "group"
    use_vllm: Literal["auto"] | bool = False  # auto: when `vllm` imports and CUDA is there
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(default=0.3, gt=0, le=1)
    vllm_tensor_parallel_size: int = Field(default=1, ge=1)
    agent_max_tokens: int = Field(default=512, ge=1)
    agent_timeout_s: float = Field(default=180.0, gt=0)
    agent_max_concurrency: int = Field(default=8, ge=1)
    agent_native_tools: bool = False  # send the tools' schemas (servers with a tool-call parser)
    length_penalty: float = Field(default=0.0, ge=0)  # x the agent's completion tokens, subtracted from the reward
    # action_consistency: the frozen agent's (the paper's); needed_names: the share of the names the next action
    # needs that the summary keeps (train/reward/needed_names.py; no agent is opened)
    reward: Literal["action_consistency", "needed_names"] = "action_consistency"

    @model_validator(mode="after")
    def _groups_fit(self) -> GrpoSettings:
        if (self.prompts_per_step * self.num_generations) % self.batch_size:
            raise ValueError(f"prompts_per_step x num_generations ({self.prompts_per_step * self.num_generations}) "
                             f"must be a multiple of batch_size ({self.batch_size})")
        return self

    def vllm(self) -> bool:
        installed = importlib.util.find_spec("vllm") is not None
        if self.use_vllm == "auto":
            return installed and _cuda()
        if self.use_vllm and not installed:
            raise ComemError("use_vllm is on, but vllm is not installed.",
                             fix="pip install vllm, or --set use_vllm=false.")
        return self.use_vllm is True


class Preset(StrictModel):
    description: str = ""
    sft: SftSettings | None = None
    grpo: GrpoSettings | None = None


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_settings(kind: Kind, preset: str, overrides: list[str] | None = None) -> SftSettings | GrpoSettings:
    """A preset name (`cpu`, `gpu`, `auto` = gpu when CUDA is there) or YAML path, its `kind` section, overridden."""
    if preset == "auto":
        preset = "gpu" if _cuda() else "cpu"
    path = PRESET_DIR / f"{preset}.yaml" if preset in preset_names() else Path(preset)
    fix = f"use one of: auto, {', '.join(preset_names())}, or a YAML file with sft: and grpo: sections."
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise ComemError(f"unknown preset {preset!r}.", fix=fix) from None
    except yaml.YAMLError as exc:
        raise ComemError(f"preset {path} is not valid YAML ({exc}).", fix=fix) from None
    if not isinstance(data, dict) or not isinstance(data.get(kind), dict):
        raise ComemError(f"preset {path} has no `{kind}:` section.", fix=fix)
    section = deep_merge(data[kind], parse_overrides(overrides or []))
    try:
        Preset.model_validate({**data, kind: section})
    except ValidationError as exc:
        raise ComemError(f"invalid {kind} settings ({path.name} + --set): {first_error(exc)}.",
                         fix=f"see {PRESET_DIR / 'gpu.yaml'} for every key and its meaning.") from None
    return (SftSettings if kind == "sft" else GrpoSettings).model_validate(section)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`["lora.r=8", "max_steps=3"]` -> {"lora": {"r": 8}, "max_steps": 3}; values are YAML scalars or lists."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ComemError(f"--set {item!r} is not key=value.", fix="e.g. --set learning_rate=1e-5 --set lora.r=8")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def trl_config(config_cls: type, settings: CommonSettings, out: Path, *, processes: int | None = None,
               **specific: Any) -> Any:
    """A TRL config dataclass from the shared settings, the trainer-specific fields, and `trl:` passthrough.

    `processes` (default: $WORLD_SIZE, set by accelerate/torchrun) turns the global batch into accumulation steps.
    """
    fields = {f.name for f in dataclasses.fields(config_cls)}
    processes = processes or int(os.environ.get("WORLD_SIZE", "1"))
    warmup = {"warmup_ratio": settings.warmup_ratio} if "warmup_ratio" in fields \
        else {"warmup_steps": settings.warmup_ratio}  # transformers >= 5 reads a float < 1 as a ratio
    args: dict[str, Any] = {
        "output_dir": str(out), "learning_rate": settings.learning_rate,
        "lr_scheduler_type": settings.lr_scheduler_type, **warmup, "weight_decay": settings.weight_decay,
        "adam_beta1": settings.adam_beta1, "adam_beta2": settings.adam_beta2, "max_grad_norm": settings.max_grad_norm,
        "num_train_epochs": settings.num_train_epochs, "max_steps": settings.max_steps,
        "per_device_train_batch_size": settings.per_device_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation(processes),
        "bf16": settings.bf16, "fp16": False, "gradient_checkpointing": settings.gradient_checkpointing,
        "logging_steps": settings.logging_steps, "save_steps": settings.save_steps,
        "save_total_limit": settings.save_total_limit, "seed": settings.seed, "report_to": "none",
        "model_init_kwargs": {"dtype": settings.dtype}, "use_cpu": not _cuda(),
        **specific, **settings.trl,
    }
    unknown = sorted(set(args) - fields)
    if unknown:
        raise ComemError(f"{config_cls.__name__} has no field(s) {', '.join(unknown)}.",
                         fix="remove them from `trl:` (they must be fields of the installed TRL's config).")
    try:
        return config_cls(**args)
    except (TypeError, ValueError) as exc:
        raise ComemError(f"TRL rejected the settings: {exc}", fix="adjust the preset or --set values.") from None


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()

