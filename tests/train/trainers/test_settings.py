"""Presets: both shipped presets validate, map onto TRL's configs as docs/method.md §8 say, and bad keys fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.train.trainers.settings import GrpoSettings, load_settings, parse_overrides, preset_names, trl_config
from tests.extras import reason

pytest.importorskip("trl", reason=reason("trl"))


def test_shipped_presets_validate_for_both_trainers() -> None:
    assert {"cpu", "gpu"} <= set(preset_names())
    for preset in ("cpu", "gpu"):
        assert load_settings("sft", preset).learning_rate == 1e-5
        grpo = load_settings("grpo", preset)
        assert isinstance(grpo, GrpoSettings) and grpo.learning_rate == 1e-6 and grpo.beta == 0.01


def test_gpu_preset_is_the_original_grpo_recipe(tmp_path: Path) -> None:
    from comem.train.trainers.grpo import grpo_config

    settings = load_settings("grpo", "gpu", ["bf16=false"])  # bf16 autocast needs a GPU to build the config here
    config = grpo_config(settings, tmp_path, processes=8)
    assert (config.num_generations, config.generation_batch_size) == (16, 256)  # 16 prompts x 16 samples
    assert config.gradient_accumulation_steps == 16  # 128 samples per optimiser step on 8 GPUs (ppo_mini_batch)
    assert (config.learning_rate, config.lr_scheduler_type.value, config.weight_decay) == (1e-6, "constant", 0.01)
    assert (config.beta, config.epsilon, config.epsilon_high, config.delta) == (0.01, 0.2, 0.2, 3.0)
    assert (config.entropy_coef, config.loss_type, config.scale_rewards) == (0.001, "dapo", "group")
    assert (config.max_completion_length, config.temperature, config.top_p) == (2048, 1.0, 1.0)
    assert config.gradient_checkpointing and config.max_grad_norm == 1.0 and not config.use_bias_correction_kl
    assert config.use_vllm is False  # `auto`: no vllm / CUDA here


def test_gpu_preset_is_the_original_sft_recipe(tmp_path: Path) -> None:
    from comem.train.trainers.sft import sft_config

    config = sft_config(load_settings("sft", "gpu", ["bf16=false"]), tmp_path, processes=8)
    assert config.gradient_accumulation_steps == 32  # 256 per step = 8 GPUs x micro 1 x 32
    assert (config.learning_rate, config.lr_scheduler_type.value, config.weight_decay) == (1e-5, "cosine", 0.01)
    assert (config.adam_beta1, config.adam_beta2, config.num_train_epochs, config.max_length) == (0.9, 0.95, 4, 32768)
    assert config.get_warmup_steps(1000) == 100  # warmup ratio 0.1


def test_overrides_reach_nested_keys_and_trl_passthrough(tmp_path: Path) -> None:
    assert parse_overrides(["lora.r=8", "max_steps=3", "trl.report_to=none", "lora.target_modules=[q_proj, v_proj]"]) \
        == {"lora": {"r": 8, "target_modules": ["q_proj", "v_proj"]}, "max_steps": 3, "trl": {"report_to": "none"}}
    settings = load_settings("sft", "cpu", ["max_steps=3", "lora.enabled=true", "lora.r=8",
                                            "trl.logging_first_step=true"])
    assert (settings.max_steps, settings.lora.enabled, settings.lora.r) == (3, True, 8)
    assert settings.trl == {"logging_first_step": True}
    assert load_settings("grpo", "gpu", ["use_vllm=no"]).vllm() is False  # YAML's no/yes are booleans
    with pytest.raises(ComemError, match="vllm is not installed"):
        load_settings("grpo", "cpu", ["use_vllm=yes"]).vllm()


@pytest.mark.parametrize(("preset", "overrides", "match"), [
    ("cpu", ["learning_rat=1e-5"], "learning_rat"),  # a typo is not silently ignored
    ("cpu", ["lora.rank=8"], "lora.rank"),
    ("cpu", ["max_steps=many"], "max_steps"),
    ("cpu", ["max_steps"], "key=value"),
    ("gpu-large", [], "unknown preset"),
])
def test_bad_settings_are_comem_errors(preset: str, overrides: list[str], match: str) -> None:
    with pytest.raises(ComemError, match=match):
        load_settings("sft", preset, overrides)


def test_settings_trl_rejects_are_comem_errors(tmp_path: Path) -> None:
    from trl import SFTConfig

    with pytest.raises(ComemError, match="no field"):
        trl_config(SFTConfig, load_settings("sft", "cpu", ["trl.no_such_option=1"]), tmp_path)
    with pytest.raises(ComemError, match="multiple of"):  # 2 x 2 completions cannot fill batches of 3
        load_settings("grpo", "cpu", ["prompts_per_step=2", "num_generations=2", "batch_size=3"])
    with pytest.raises(ComemError, match="not a multiple"):
        trl_config(SFTConfig, load_settings("sft", "cpu", ["batch_size=3", "per_device_batch_size=2"]), tmp_path)


def test_a_preset_file_of_ones_own(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("grpo:\n  learning_rate: 2.0e-6\n  prompts_per_step: 1\n  num_generations: 2\n"
                    "  max_completion_length: 32\n  batch_size: 2\n")
    assert load_settings("grpo", str(path)).learning_rate == 2e-6
    with pytest.raises(ComemError, match="no `sft:` section"):
        load_settings("sft", str(path))
    path.write_text("grpo: [unbalanced")
    with pytest.raises(ComemError, match="not valid YAML"):
        load_settings("grpo", str(path))


def test_shipped_accelerate_configs_load() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    from comem.train.trainers.settings import PRESET_DIR

    configs = {p.stem: load_config_from_file(str(p)) for p in (PRESET_DIR.parent / "accelerate").glob("*.yaml")}
    assert {k: (c.distributed_type.value, c.num_machines, c.num_processes, c.mixed_precision) for k, c in
            configs.items()} == {"zero3_8gpu": ("DEEPSPEED", 1, 8, "bf16"), "fsdp_8gpu": ("FSDP", 1, 8, "bf16"),
                                 "zero3_multinode": ("DEEPSPEED", 2, 16, "bf16")}
