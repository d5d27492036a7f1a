"""GRPO on the memory model with TRL's GRPOTrainer and the frozen agent's action-consistency reward (docs/method.md §8).

Each round samples `num_generations` summaries per prompt; the reward shows each summary (plus the raw steps the
record keeps) to the frozen agent, asks it greedily for its next action and scores that against the recorded
one (0..10); advantages are group-normalised. The agent is opened like `comem run` opens it: an embedded server
for a bundled name or GGUF path, or an OpenAI-compatible URL (vLLM, SGLang) — the usual choice on GPUs. With
`reward: needed_names` no agent is opened: each summary scores 10 x the share of the names the next action needs,
and only summarised outputs held, that it keeps (train/reward/needed_names.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comem.llm.checkpoint import require_train_extra
from comem.llm.endpoint import ModelConfig
from comem.llm.openai_http import OpenAIChatClient
from comem.train.data.records import GrpoRecord
from comem.train.trainers.init_adapter import read_init_adapter
from comem.train.trainers.settings import GrpoSettings, trl_config
from comem.train.trainers.weights import base_model_dir

if TYPE_CHECKING:
    from comem.train.trainers.common import TrainResult


def train_grpo(data: Path, base: str, out: Path, settings: GrpoSettings, agent: ModelConfig, *,
               agent_threads: int = 2, init_adapter: Path | None = None) -> TrainResult:
    """Train `base` (bundled name or HF dir) on `data` (train.parquet or its dir).

    Start from the SFT model: `init_adapter` (the SFT `adapter/`, base = the SFT's base) keeps training that
    LoRA, so the result is one adapter on `base`; or `base` = the SFT `final/` for a full fine-tune."""
    require_train_extra()
    from trl import GRPOTrainer

    from comem.environment.tools import build_tool_specs
    from comem.train.reward import ActionConsistencyReward
    from comem.train.trainers.common import MetricsLog, load_records, run_training, trainer_model

    dataset = load_records(data, GrpoRecord, "train.parquet")
    base_dir = base_model_dir(base)
    init = read_init_adapter(init_adapter, base_dir) if init_adapter is not None else None
    settings = init.applied_to(settings) if init is not None else settings
    config = grpo_config(settings, out)
    manifest = {"kind": "grpo", "base": base, "base_dir": base_dir, "init_adapter": init and init.path,
                "data": data, "records": len(dataset), "settings": settings.model_dump(),
                "agent": agent.model_dump(exclude={"api_key"}) if settings.reward == "action_consistency" else None}
    if settings.reward == "needed_names":
        from comem.train.reward.needed_names import NeededNamesReward

        model, peft_config = trainer_model(base_dir, settings, init)
        trainer = GRPOTrainer(model=model, reward_funcs=[NeededNamesReward()], args=config, train_dataset=dataset,
                              peft_config=peft_config, callbacks=[MetricsLog(out)])
        return run_training(trainer, out, manifest, settings, base_dir)
    # an embedded agent's KV cache grows with its slots: at most 4 keeps a CPU agent's memory modest
    with opened_agent(agent, out / "logs", agent_threads, min(settings.agent_max_concurrency, 4)) as client:
        reward = ActionConsistencyReward(
            client, max_concurrency=settings.agent_max_concurrency, timeout_s=settings.agent_timeout_s,
            max_tokens=settings.agent_max_tokens, length_penalty=settings.length_penalty,
            tool_specs=build_tool_specs(60.0) if settings.agent_native_tools else None,
        )
        try:
            model, peft_config = trainer_model(base_dir, settings, init)
            trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config, train_dataset=dataset,
                                  peft_config=peft_config, callbacks=[MetricsLog(out)])
            return run_training(trainer, out, manifest, settings, base_dir)
        finally:
            reward.close()


def grpo_config(settings: GrpoSettings, out: Path, processes: int | None = None) -> Any:
    """TRL's GRPOConfig for these settings: one round = prompts_per_step x num_generations completions."""
    from trl import GRPOConfig

    return trl_config(
        GRPOConfig, settings, out, processes=processes,
        num_generations=settings.num_generations,
        generation_batch_size=settings.prompts_per_step * settings.num_generations,
        max_completion_length=settings.max_completion_length, temperature=settings.temperature,
        top_p=settings.top_p, beta=settings.beta, epsilon=settings.epsilon, epsilon_high=settings.epsilon_high,
        delta=settings.dual_clip, entropy_coef=settings.entropy_coef, loss_type=settings.loss_type,
        scale_rewards=settings.scale_rewards, use_vllm=settings.vllm(), vllm_mode=settings.vllm_mode,
        vllm_gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=settings.vllm_tensor_parallel_size,
    )


@contextlib.contextmanager
def opened_agent(spec: ModelConfig, log_dir: Path, threads: int, n_parallel: int) -> Iterator[OpenAIChatClient]:
    """`open_model` (async) held open around synchronous training, on a loop of its own.

    The reward calls the client from its own loop; the client keeps one connection pool per loop, so that works.
    """
    from comem.llm.open import open_model

    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        yield loop.run_until_complete(stack.enter_async_context(
            open_model(spec, "agent", log_dir, threads, n_parallel=n_parallel)))
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
