"""Named models, devices and deployments, so a paper-scale run is one word plus a few `--set key=value` overrides.

Shapes are from docs/simulator.md (GLM-4.7 is assumed to have the GLM-4.5 architecture; Qwen3-4B from its config,
unverified there). Device figures are datasheet values. Deployments follow docs/simulator.md §5.3: the memory
model gets GPUs of its own, as in the paper's scripts; which GPU generation each run used is not in the repo,
so the choice below (and every number) is a default to override, not a fact.
"""

from __future__ import annotations

from typing import Any

from comem.bench.sim.roofline import Efficiency, Hardware, ModelShape

MODELS: dict[str, ModelShape] = {
    m.name: m
    for m in (
        ModelShape(name="deepswe-32b", params=32.8e9, n_layers=64, n_q_heads=64, n_kv_heads=8, d_head=128,
                   hidden=5120),
        ModelShape(name="qwen3-coder-480b-a35b", params=480e9, active_params=35e9, n_layers=62, n_q_heads=96,
                   n_kv_heads=8, d_head=128, bytes_per_weight=1.0, n_experts=160, top_k=8, hidden=6144),
        ModelShape(name="glm-4.7", params=355e9, active_params=32e9, n_layers=92, n_q_heads=96, n_kv_heads=8,
                   d_head=128, bytes_per_weight=1.0, n_experts=160, top_k=8, hidden=5120),
        ModelShape(name="qwen3-4b", params=4.02e9, n_layers=36, n_q_heads=32, n_kv_heads=8, d_head=128,
                   hidden=2560),
        # CPU models: GGUF file size / parameters as bytes per weight; llama.cpp keeps the KV cache in f16.
        ModelShape(name="smollm2-135m", params=134.5e6, n_layers=30, n_q_heads=9, n_kv_heads=3, d_head=64,
                   bytes_per_weight=98e6 / 134.5e6),  # SmolLM2-135M-Instruct Q4_1, 98 MB
        ModelShape(name="qwen2.5-coder-0.5b", params=494e6, n_layers=24, n_q_heads=14, n_kv_heads=2, d_head=64,
                   bytes_per_weight=491.4e6 / 494e6),  # Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 491 MB
    )
}

# NVLink 4 through NVSwitch (both boards): 450 GB/s per device and direction, ~360 GB/s of it delivered to NCCL
# collectives; the latencies and the kernel floor are set once against the reference points (docs/simulator.md §2.7).
_NVLINK = {"link_bw": 360e9, "allreduce_latency_s": 10e-6, "alltoall_latency_s": 65e-6, "kernel_floor_s": 2e-6}

HARDWARE: dict[str, Hardware] = {
    h.name: h
    for h in (
        Hardware(name="h100", hbm_bw=3.35e12, flops=989e12, flops_fp8=1979e12, mem_bytes=80e9, pcie_bw=50e9,
                 **_NVLINK),
        Hardware(name="h200", hbm_bw=4.8e12, flops=989e12, flops_fp8=1979e12, mem_bytes=141e9, pcie_bw=50e9,
                 **_NVLINK),
        # One core of the 2-core dev box (the replay gives each llama.cpp server one thread), nominal: ~20 GB/s
        # DRAM, ~100 GFLOP/s AVX2; `calibrate` fits the efficiencies against these.
        Hardware(name="cpu", hbm_bw=20e9, flops=100e9, mem_bytes=24 * 2**30, pcie_bw=20e9),
    )
}

# Starting points for CPU calibration: llama.cpp reaches far less of peak than a GPU engine.
CPU_EFFICIENCY = Efficiency(bw=0.5, kv_bw=0.5, mfu=0.3, attn=0.3, t_fixed_s=0.002, t_request_s=0.01)

_GPU_ENGINE: dict[str, Any] = {"block_size": 16, "max_num_batched_tokens": 8192, "max_num_seqs": 1024,
                               "kv_cache_dtype": "bf16"}  # --set agent.kv_cache_dtype=fp8: twice the KV tokens
# llama.cpp server as `comem bench replay` starts it (--threads 1 --n-parallel 2 --n-ctx 8192 per slot): exact
# token-level prefix reuse (block 1), prompts processed in n_ubatch = 512 token chunks, 2 slots.
_CPU_ENGINE: dict[str, Any] = {"hardware": "cpu", "block_size": 1, "max_num_batched_tokens": 512, "max_num_seqs": 2,
                               "kv_tokens": 2 * 8192, "kv_cache_dtype": "fp16",
                               "efficiency": CPU_EFFICIENCY.model_dump()}

DEPLOYMENTS: dict[str, dict[str, Any]] = {
    # DeepSWE: agent on GPUs 0-3 (TP4), --max_num_batched_tokens 4096; memory on GPUs 4-5 (TP2); k=2.
    "deepswe-h100": {
        "agent": {"model": "deepswe-32b", "hardware": {"name": "h100", "n_gpu": 4}, **_GPU_ENGINE,
                  "max_num_batched_tokens": 4096},
        "memory": {"model": "qwen3-4b", "hardware": {"name": "h100", "n_gpu": 2}, **_GPU_ENGINE},
        "k": 2, "max_model_len": 65536,
    },
    # Qwen3-Coder-480B FP8, TP8 + EP; memory TP4 on GPUs 4-7; k=2; 32K context.
    "qwen3-coder-h200": {
        "agent": {"model": "qwen3-coder-480b-a35b", "hardware": {"name": "h200", "n_gpu": 8}, **_GPU_ENGINE},
        "memory": {"model": "qwen3-4b", "hardware": {"name": "h200", "n_gpu": 4}, **_GPU_ENGINE},
        "k": 2, "max_model_len": 32000,
    },
    # GLM-4.7 FP8, TP8 + EP; memory TP4 on its own 4 GPUs; k=4. The paper's batch-size figure is for this agent.
    "glm-4.7-h200": {
        "agent": {"model": "glm-4.7", "hardware": {"name": "h200", "n_gpu": 8}, **_GPU_ENGINE},
        "memory": {"model": "qwen3-4b", "hardware": {"name": "h200", "n_gpu": 4}, **_GPU_ENGINE},
        "k": 4, "max_model_len": 65536,
    },
    # CPU replay (docs/simulator.md): one llama.cpp server per model on the same 2-core box, so each slows the
    # other down while both compute (`contention`, fitted by `calibrate`).
    "cpu-smollm2": {
        "agent": {"model": "smollm2-135m", **_CPU_ENGINE},
        "memory": {"model": "smollm2-135m", **_CPU_ENGINE},
        "k": 2, "max_model_len": 8192, "summary_tokens": 64, "contention": 1.3,
        "settings": {"system_tokens": 0, "output_reuse": False},  # slots share nothing; replies are re-rendered
    },
    "cpu-qwen2.5-coder": {
        "agent": {"model": "qwen2.5-coder-0.5b", **_CPU_ENGINE},
        "memory": {"model": "qwen2.5-coder-0.5b", **_CPU_ENGINE},
        "k": 2, "max_model_len": 8192, "summary_tokens": 64, "contention": 1.3,
        "settings": {"system_tokens": 0, "output_reuse": False},
    },
}
