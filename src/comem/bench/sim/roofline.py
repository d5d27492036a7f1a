"""Step times of one engine iteration from a roofline (docs/simulator.md §2) and KV capacity.

An iteration processes decode tokens (one per running sequence, each attending over its context) and prefill
chunks (n new tokens on top of c cached ones). Its kernels run one after another, so its time is a sum: fixed
costs per iteration and per layer (kernel launch floors, the latency of each collective of tensor and expert
parallelism), the bytes those collectives move over the device links, and, for each kind of work (dense GEMMs,
expert GEMMs, attention), the larger of its memory time and its compute time. Efficiency factors turn peak
figures into delivered ones. Everything is plain arithmetic so that tests can recompute a schedule's time
independently of the scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from comem.core.config import StrictModel
from comem.core.errors import ComemError


class ModelShape(StrictModel):
    """What serving cost depends on: parameter counts, attention shape, and the bytes each is stored in."""

    name: str = "custom"
    params: float = Field(gt=0)  # all parameters (weights resident on the devices)
    active_params: float | None = Field(default=None, gt=0)  # touched per token; MoE: < params; default params
    n_layers: int = Field(ge=1)
    n_q_heads: int = Field(ge=1)
    n_kv_heads: int = Field(ge=1)
    d_head: int = Field(ge=1)
    bytes_per_weight: float = Field(default=2.0, gt=0)  # bf16 2, fp8 1, GGUF: file size / params
    bytes_per_kv: float = Field(default=2.0, gt=0)
    n_experts: int | None = Field(default=None, ge=1)  # routed experts per MoE layer
    top_k: int | None = Field(default=None, ge=1)  # experts per token
    hidden: int | None = Field(default=None, ge=1)  # residual width (what collectives move); default d_q

    @model_validator(mode="after")
    def _check(self) -> ModelShape:
        if (self.n_experts is None) != (self.top_k is None):
            raise ValueError("set both n_experts and top_k for an MoE model, or neither")
        if self.n_experts is not None and self.top_k is not None and self.top_k >= self.n_experts:
            raise ValueError("top_k must be below n_experts")
        if self.active > self.params:
            raise ValueError("active_params cannot exceed params")
        return self

    @property
    def active(self) -> float:
        return self.params if self.active_params is None else self.active_params

    @property
    def d_q(self) -> int:
        return self.n_q_heads * self.d_head

    @property
    def d_model(self) -> int:
        return self.d_q if self.hidden is None else self.hidden

    @property
    def moe(self) -> bool:
        return self.n_experts is not None

    @property
    def kernels_per_layer(self) -> int:
        """Kernels one layer launches: norms, QKV, attention, output projection, MLP and residual (10); an MoE
        layer swaps the dense MLP's 3 for router, top-k, permute, two grouped GEMMs, activation and unpermute (7)."""
        return 14 if self.moe else 10

    @property
    def kv_bytes_per_token(self) -> float:
        """s_kv = 2 (K and V) * layers * kv heads * d_head * bytes."""
        return 2 * self.n_layers * self.n_kv_heads * self.d_head * self.bytes_per_kv

    @property
    def weight_bytes(self) -> float:
        return self.params * self.bytes_per_weight


class Hardware(StrictModel):
    """One deployment's devices. Bandwidths and FLOP/s are per device; the model is split over `n_gpu` (attention
    by tensor parallelism, experts by expert parallelism). The link figures are those of the device interconnect
    (NVLink through NVSwitch on H100/H200 boards); they cost nothing on one device."""

    name: str = "custom"
    n_gpu: int = Field(default=1, ge=1)
    hbm_bw: float = Field(gt=0)  # bytes/s
    flops: float = Field(gt=0)  # dense bf16 FLOP/s
    flops_fp8: float | None = Field(default=None, gt=0)  # for GEMMs over 1-byte weights (attention: 1-byte KV)
    mem_bytes: float = Field(gt=0)  # memory per device
    pcie_bw: float = Field(default=50e9, gt=0)  # host link per device and direction (CPU KV offload)
    link_bw: float = Field(default=360e9, gt=0)  # device link per device and direction, delivered to collectives
    allreduce_latency_s: float = Field(default=0.0, ge=0)  # one all-reduce of a small message
    alltoall_latency_s: float = Field(default=0.0, ge=0)  # one MoE dispatch or combine of a small batch
    kernel_floor_s: float = Field(default=0.0, ge=0)  # the least time one kernel takes (launch, tail)


class Efficiency(StrictModel):
    """Delivered fraction of peak, and fixed overheads. Defaults are set once against every AIConfigurator point of
    the reference table (docs/simulator.md §2.7), dense and MoE alike."""

    bw: float = Field(default=0.8, gt=0)  # of HBM bandwidth, reading dense weights
    kv_bw: float = Field(default=0.9, gt=0)  # of HBM bandwidth, reading/writing KV
    mfu: float = Field(default=0.7, gt=0)  # of peak FLOP/s, in the dense weight GEMMs
    attn: float = Field(default=0.6, gt=0)  # of peak FLOP/s, in attention
    moe_bw: float = Field(default=0.65, gt=0)  # of HBM bandwidth, reading expert weights (grouped GEMM)
    moe_mfu: float = Field(default=0.42, gt=0)  # of peak FLOP/s, in the expert GEMMs
    t_fixed_s: float = Field(default=0.0005, ge=0)  # per iteration: scheduling, sampling
    t_request_s: float = Field(default=0.0, ge=0)  # per request: HTTP, tokenisation, detokenisation


Chunk = tuple[int, int]  # (new tokens, cached tokens before them)


class Roofline:
    """Iteration times for one model on one set of devices. Constants are folded once; calls are cheap."""

    def __init__(self, model: ModelShape, hw: Hardware, eff: Efficiency) -> None:
        self.model, self.hw, self.eff = model, hw, eff
        # FP8 weights run the GEMMs at FP8 peak; attention stays at bf16 unless the KV cache is FP8 too.
        lin_flops = hw.flops_fp8 if model.bytes_per_weight <= 1 and hw.flops_fp8 else hw.flops
        att_flops = hw.flops_fp8 if model.bytes_per_kv <= 1 and hw.flops_fp8 else hw.flops
        n = hw.n_gpu
        self.bw_w = n * hw.hbm_bw * eff.bw
        self.bw_kv = n * hw.hbm_bw * eff.kv_bw
        self.bw_moe = n * hw.hbm_bw * eff.moe_bw
        self.f_lin = n * lin_flops * eff.mfu
        self.f_moe = n * lin_flops * eff.moe_mfu
        self.f_att = n * att_flops * eff.attn
        self.s_kv = model.kv_bytes_per_token
        self.att_coef = 4.0 * model.n_layers * model.d_q  # attention FLOPs per (query token x context token)
        if model.n_experts is None or model.top_k is None:
            self.dense_bytes, self.expert_bytes, self.miss = model.weight_bytes, 0.0, 1.0
            expert_active = 0.0
        else:  # params - active = expert params * (1 - k/E): split the weights into always-read and routed parts
            share = model.top_k / model.n_experts
            expert_params = (model.params - model.active) / (1.0 - share)
            self.expert_bytes = expert_params * model.bytes_per_weight
            self.dense_bytes = model.weight_bytes - self.expert_bytes
            self.miss = 1.0 - share
            expert_active = expert_params * share
        self.lin_per_token = 2.0 * (model.active - expert_active)  # FLOPs of the dense GEMMs per token
        self.moe_per_token = 2.0 * expert_active  # FLOPs of the expert GEMMs per token
        # Per layer: kernel floors; with n > 1, an all-reduce after attention (and after a dense MLP) and, for MoE,
        # a dispatch and a combine of every token's top-k copies. Latencies are fixed; bytes go over the links
        # (ring all-reduce: 2 (n-1)/n of the message per device; activations bf16, dispatch in the weights' dtype).
        layers, h = model.n_layers, model.d_model
        fixed = model.kernels_per_layer * hw.kernel_floor_s
        per_token = 0.0
        if n > 1:
            reduces = 1 if model.moe else 2
            fixed += reduces * hw.allreduce_latency_s
            per_token += reduces * 2.0 * (n - 1) / n * h * 2.0 / hw.link_bw
            if model.moe and model.top_k is not None:
                fixed += 2 * hw.alltoall_latency_s
                per_token += 2.0 * (n - 1) / n * model.top_k * h * min(2.0, model.bytes_per_weight) / hw.link_bw
        self.t_fixed = eff.t_fixed_s + layers * fixed  # per iteration, whatever it computes
        self.comm_per_token = layers * per_token

    def weights_read(self, tokens: float | np.ndarray) -> float | np.ndarray:
        """Weight bytes one iteration reads: a batch of T tokens touches 1 - (1 - k/E)^T of each MoE layer's experts."""
        return self.dense_bytes + self.expert_read(tokens)

    def expert_read(self, tokens: float | np.ndarray) -> float | np.ndarray:
        if self.expert_bytes == 0.0:
            return 0.0
        return self.expert_bytes * (1.0 - self.miss ** tokens)

    def _gemms(self, tokens: float) -> float:
        """Dense and expert GEMMs: each the larger of reading its weights and computing its FLOPs."""
        t = max(self.dense_bytes / self.bw_w, self.lin_per_token * tokens / self.f_lin)
        if self.expert_bytes:
            t += max(self.expert_read(tokens) / self.bw_moe, self.moe_per_token * tokens / self.f_moe)
        return t + self.comm_per_token * tokens

    def iteration(self, n_decode: int, decode_ctx: float, chunks: Sequence[Chunk] = ()) -> float:
        """One iteration: `n_decode` sequences attending over `decode_ctx` tokens in total, plus prefill chunks."""
        tokens = n_decode + sum(n for n, _ in chunks)
        if tokens <= 0:
            return 0.0
        kv_tokens = decode_ctx + sum(n + c for n, c in chunks)
        att_pairs = decode_ctx + sum(n * c + n * n / 2.0 for n, c in chunks)
        attention = max(kv_tokens * self.s_kv / self.bw_kv, self.att_coef * att_pairs / self.f_att)
        return self.t_fixed + self._gemms(tokens) + attention

    def decode_run(self, n_decode: int, ctx0: float, m: int) -> np.ndarray:
        """Times of m decode-only iterations; at iteration i (from 0) the batch attends over ctx0 + (i+1)*B tokens."""
        ctx = ctx0 + n_decode * np.arange(1, m + 1, dtype=np.float64)
        attention = np.maximum(ctx * (self.s_kv / self.bw_kv), ctx * (self.att_coef / self.f_att))
        return self.t_fixed + self._gemms(float(n_decode)) + attention

    def reload_s(self, tokens: int) -> float:
        """Copying `tokens` of KV from the CPU tier over the host links (all devices in parallel)."""
        return tokens * self.s_kv / (self.hw.n_gpu * self.hw.pcie_bw)


def kv_capacity_tokens(model: ModelShape, hw: Hardware, utilization: float = 0.9, reserve: float = 0.03) -> int:
    """KV tokens that fit: (devices * memory * (utilization - activation reserve) - weights) / s_kv."""
    free = hw.n_gpu * hw.mem_bytes * (utilization - reserve) - model.weight_bytes
    if free <= 0:
        raise ComemError(
            f"{model.name} ({model.weight_bytes / 1e9:.0f} GB of weights) does not fit on {hw.n_gpu}x {hw.name}.",
            fix="use more devices (e.g. --set agent.hardware.n_gpu=8) or smaller weights (bytes_per_weight).",
        )
    return int(math.floor(free / model.kv_bytes_per_token))
