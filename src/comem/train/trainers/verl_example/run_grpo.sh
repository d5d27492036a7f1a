#!/usr/bin/env bash
# GRPO on CoMem's memory model with verl (docs/method.md §8 settings), on the files `comem train export-verl` wrote here.
# Needs verl (with vLLM) and comem installed, a Ray cluster for multi-node, and the frozen agent served elsewhere:
#   export COMEM_AGENT_URL=http://agent-host:8000/v1 COMEM_AGENT_MODEL=<served name>
#   MODEL=/path/to/sft/final bash run_grpo.sh [extra hydra overrides...]
# Multi-node: `ray start --head` on node 0 and `ray start --address=<head>:6379` on the others, then run this on
# the head with NNODES=<nodes>; verl places actor, rollout and reference workers over all GPUs via Ray.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${MODEL:?set MODEL to the SFT checkpoint (e.g. runs/train/sft-.../final)}"
: "${COMEM_AGENT_URL:?set COMEM_AGENT_URL to the frozen agent}"
: "${COMEM_AGENT_MODEL:?set COMEM_AGENT_MODEL to the served model name of the agent}"
NNODES="${NNODES:-1}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MAX_PROMPT_LENGTH="${MAX_PROMPT_LENGTH:-30720}"   # the original allowed 121072; must exceed the longest prompt
VAL_FILES="${HERE}/eval.parquet"
[[ -f "$VAL_FILES" ]] || VAL_FILES="${HERE}/train.parquet"

python3 -m verl.trainer.main_ppo \
  algorithm.adv_estimator=grpo \
  algorithm.norm_adv_by_std_in_grpo=True \
  algorithm.use_kl_in_reward=False \
  algorithm.gamma=1.0 algorithm.lam=1.0 \
  data.train_files="${HERE}/train.parquet" \
  data.val_files="${VAL_FILES}" \
  data.prompt_key=prompt \
  data.train_batch_size=16 \
  data.max_prompt_length="${MAX_PROMPT_LENGTH}" \
  data.max_response_length=2048 \
  data.filter_overlong_prompts=False \
  data.truncation=error \
  actor_rollout_ref.model.path="${MODEL}" \
  actor_rollout_ref.model.enable_gradient_checkpointing=True \
  actor_rollout_ref.model.use_remove_padding=True \
  actor_rollout_ref.actor.optim.lr=1e-6 \
  actor_rollout_ref.actor.optim.weight_decay=0.01 \
  actor_rollout_ref.actor.ppo_mini_batch_size=8 \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.actor.ppo_epochs=1 \
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=32000 \
  actor_rollout_ref.actor.clip_ratio_low=0.2 \
  actor_rollout_ref.actor.clip_ratio_high=0.2 \
  actor_rollout_ref.actor.clip_ratio_c=3.0 \
  actor_rollout_ref.actor.loss_agg_mode=token-mean \
  actor_rollout_ref.actor.entropy_coeff=0.001 \
  actor_rollout_ref.actor.grad_clip=1.0 \
  actor_rollout_ref.actor.use_kl_loss=True \
  actor_rollout_ref.actor.kl_loss_coef=0.01 \
  actor_rollout_ref.actor.kl_loss_type=low_var_kl \
  actor_rollout_ref.actor.ulysses_sequence_parallel_size=8 \
  actor_rollout_ref.actor.fsdp_config.param_offload=True \
  actor_rollout_ref.actor.fsdp_config.optimizer_offload=True \
  actor_rollout_ref.ref.fsdp_config.param_offload=True \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=4 \
  actor_rollout_ref.rollout.name=vllm \
  actor_rollout_ref.rollout.n=16 \
  actor_rollout_ref.rollout.temperature=1.0 \
  actor_rollout_ref.rollout.top_p=1.0 \
  actor_rollout_ref.rollout.tensor_model_parallel_size=4 \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
  actor_rollout_ref.rollout.enable_chunked_prefill=True \
  actor_rollout_ref.rollout.enforce_eager=True \
  actor_rollout_ref.rollout.free_cache_engine=True \
  actor_rollout_ref.rollout.max_num_batched_tokens=131072 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 \
  actor_rollout_ref.rollout.val_kwargs.temperature=1.0 \
  actor_rollout_ref.rollout.val_kwargs.do_sample=True \
  reward_model.reward_manager=batch \
  custom_reward_function.path="${HERE}/comem_reward.py" \
  custom_reward_function.name=compute_score_batch \
  trainer.nnodes="${NNODES}" \
  trainer.n_gpus_per_node="${GPUS_PER_NODE}" \
  trainer.total_epochs=1 \
  trainer.save_freq=5 \
  trainer.test_freq=5 \
  trainer.val_before_train=True \
  trainer.critic_warmup=0 \
  trainer.logger='[console]' \
  trainer.project_name=comem \
  trainer.experiment_name=memory-grpo \
  "$@"
