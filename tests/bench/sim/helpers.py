"""A tiny model and engine so simulations in tests take milliseconds, plus an independent analytic step time."""

from __future__ import annotations

import json

from comem.bench.records import MemoryRow, StepRow, StepShape, TrajectoryShape
from comem.bench.sim.agents import ArmSettings
from comem.bench.sim.config import SimConfig, load_config
from comem.bench.sim.engine import EngineSpec
from comem.bench.sim.roofline import Efficiency, Hardware, ModelShape, Roofline
from comem.bench.sim.simulate import simulate

TINY_MODEL = ModelShape(name="tiny", params=1e8, n_layers=4, n_q_heads=4, n_kv_heads=2, d_head=16)
TINY_HW = Hardware(name="tiny", hbm_bw=1e11, flops=1e13, mem_bytes=1e9, pcie_bw=1e10)
TINY_EFF = Efficiency(bw=0.5, kv_bw=0.4, mfu=0.3, attn=0.2, t_fixed_s=1e-3, t_request_s=0.0)
SETTINGS = ArmSettings(summary_tokens=20, summary_wrapper_tokens=4, memory_template_tokens=10, memory_step_overhead=2,
                       mask_placeholder_tokens=3, system_tokens=16)


def tiny_spec(**update) -> EngineSpec:
    base = {"model": TINY_MODEL, "hardware": TINY_HW, "efficiency": TINY_EFF, "block_size": 4,
            "max_num_batched_tokens": 64, "max_num_seqs": 8, "kv_tokens": 100_000}
    return EngineSpec(**{**base, **update})


def tiny_config(arms: list[str], agent: dict | None = None, memory: dict | None = None, **fields) -> SimConfig:
    base = {"agent": tiny_spec(**(agent or {})), "memory": tiny_spec(**(memory or {})), "arms": arms,
            "settings": SETTINGS, "max_model_len": 100_000, "check": True, "k": 2}
    return SimConfig(**{**base, **fields})


def shape(name: str, head: int, steps: list[tuple[int, int, float]]) -> TrajectoryShape:
    """steps: (output tokens, observation tokens, tool seconds)."""
    return TrajectoryShape(name=name, head_tokens=head, steps=[
        StepShape(output_tokens=o, observation_tokens=d, tool_s=t) for o, d, t in steps])


def analytic_full_steps(traj: TrajectoryShape, spec: EngineSpec) -> list[tuple[float, float]]:
    """(TTFT, decode) per step of one full-context agent alone on an engine that never evicts.

    Computed from the roofline directly: prefill chunks of max_num_batched_tokens on top of the previous call's
    full blocks, then output - 1 single-token decode iterations.
    """
    rf = Roofline(spec.model, spec.hardware, spec.efficiency)
    bs, budget = spec.block_size, spec.max_num_batched_tokens
    out, prompt, previous_kv = [], traj.head_tokens, 0
    for s in traj.steps:
        start = min(previous_kv // bs * bs, (prompt - 1) // bs * bs)
        ttft = spec.efficiency.t_request_s
        while start < prompt:
            n = min(budget, prompt - start)
            ttft += rf.iteration(0, 0, [(n, start)])
            start += n
        decode = sum(rf.iteration(1, prompt + i) for i in range(1, s.output_tokens))
        out.append((ttft, decode))
        previous_kv = prompt + s.output_tokens - 1
        prompt += s.output_tokens + s.observation_tokens
    return out


TRUE = Efficiency(bw=0.4, kv_bw=0.3, mfu=0.25, attn=0.15, t_fixed_s=0.003, t_request_s=0.02)
WORKLOAD = ["workload.distribution.steps.median=10", "workload.distribution.steps.lo=4",
            "workload.distribution.head_tokens.median=800", "workload.distribution.head_tokens.lo=300",
            "workload.distribution.observation_tokens.median=250", "workload.distribution.observation_tokens.lo=50",
            "workload.distribution.output_tokens.median=60", "workload.distribution.output_tokens.lo=20",
            "max_model_len=6000", "concurrency=1",
            "baseline_hardware=agent-only"]  # as a replay runs: the baseline on the agent's own threads


def replay(arms: list[str], seeds: range = range(4), contention: float = 1.0, true: Efficiency = TRUE,
           ) -> tuple[list[StepRow], list[MemoryRow]]:
    """What a concurrency-1 replay on the CPU engines would record if the roofline with `true` were the truth."""
    config = load_config("cpu-qwen2.5-coder", WORKLOAD + [f"arms={json.dumps(arms)}", f"contention={contention}"])
    truth = {e: getattr(config, e).model_copy(update={"efficiency": true}) for e in ("agent", "memory")}
    rows, memory = [], []
    for seed in seeds:
        cfg = config.model_copy(update={**truth, "workload": config.workload.model_copy(update={"seed": seed})})
        result = simulate(cfg)
        rows += [r.model_copy(update={"trajectory": f"s{seed}", "repeat": seed}) for r in result.steps]
        memory += [m.model_copy(update={"trajectory": f"s{seed}", "repeat": seed}) for run in result.measured
                   for m in run.memory]
    return rows, memory
