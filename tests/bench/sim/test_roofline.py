"""The roofline reproduces the worked figures of docs/simulator.md at 100% efficiency (50% MFU for prefill) on
ideal devices (no collective latency, kernel floor or link time), and adds those costs where the devices have them."""

from __future__ import annotations

import numpy as np
import pytest

from comem.bench.sim.presets import HARDWARE, MODELS
from comem.bench.sim.roofline import Efficiency, Hardware, ModelShape, Roofline, kv_capacity_tokens
from comem.core.errors import ComemError

PEAK = Efficiency(bw=1, kv_bw=1, mfu=1, attn=1, moe_bw=1, moe_mfu=1, t_fixed_s=0)
HALF_MFU = Efficiency(bw=1, kv_bw=1, mfu=0.5, attn=0.5, moe_bw=1, moe_mfu=0.5, t_fixed_s=0)
IDEAL_LINKS = {"link_bw": 1e30, "allreduce_latency_s": 0.0, "alltoall_latency_s": 0.0, "kernel_floor_s": 0.0}


def hw(name: str, n: int) -> Hardware:
    return HARDWARE[name].model_copy(update={"n_gpu": n})


def ideal(name: str, n: int) -> Hardware:
    return HARDWARE[name].model_copy(update={"n_gpu": n, **IDEAL_LINKS})


@pytest.mark.parametrize(("model", "kib"), [("glm-4.7", 368), ("qwen3-coder-480b-a35b", 248), ("deepswe-32b", 256),
                                           ("qwen3-4b", 144), ("smollm2-135m", 22.5)])
def test_kv_bytes_per_token_table(model: str, kib: float) -> None:
    assert MODELS[model].kv_bytes_per_token == kib * 1024


@pytest.mark.parametrize(("model", "device", "n", "tokens"), [
    ("glm-4.7", "h100", 8, 0.54e6), ("glm-4.7", "h200", 8, 1.66e6), ("qwen3-coder-480b-a35b", "h100", 8, 0.30e6),
    ("qwen3-coder-480b-a35b", "h200", 8, 1.97e6), ("deepswe-32b", "h100", 2, 0.28e6),
    ("deepswe-32b", "h100", 8, 1.87e6), ("qwen3-4b", "h100", 1, 0.42e6),
])
def test_kv_capacity_table(model: str, device: str, n: int, tokens: float) -> None:
    assert kv_capacity_tokens(MODELS[model], hw(device, n)) == pytest.approx(tokens, rel=0.02)


@pytest.mark.parametrize(("model", "device", "batch", "ctx", "ms"), [
    ("deepswe-32b", "h100", 1, 8192, 2.5), ("deepswe-32b", "h100", 1, 65536, 3.1),
    ("deepswe-32b", "h100", 16, 8192, 3.7),
    ("deepswe-32b", "h100", 64, 65536, 43.5), ("glm-4.7", "h200", 16, 8192, 6.8), ("glm-4.7", "h200", 64, 65536, 50.1),
    ("qwen3-4b", "h100", 16, 32768, 25.5),
])
def test_decode_lower_bounds(model: str, device: str, batch: int, ctx: int, ms: float) -> None:
    rf = Roofline(MODELS[model], ideal(device, 1 if model == "qwen3-4b" else 8), PEAK)
    assert rf.iteration(batch, batch * ctx) * 1e3 == pytest.approx(ms, rel=0.03)


@pytest.mark.parametrize(("new", "cached", "seconds"), [(65536, 0, 2.23), (1300, 65536, 0.066), (8192, 0, 0.154),
                                                        (1300, 8192, 0.027)])
def test_prefill_table_qwen3_32b(new: int, cached: int, seconds: float) -> None:
    rf = Roofline(MODELS["deepswe-32b"], ideal("h100", 8), HALF_MFU)
    assert rf.iteration(0, 0, [(new, cached)]) == pytest.approx(seconds, rel=0.05)


def test_moe_batch_touches_most_experts() -> None:
    """At B=64 with 160 experts / top-8 ~96% of the expert weights are read, ~79% at B=30."""
    rf = Roofline(MODELS["glm-4.7"], hw("h200", 8), PEAK)
    share = [(rf.weights_read(b) - rf.dense_bytes) / rf.expert_bytes for b in (1, 30, 64)]
    assert share == pytest.approx([8 / 160, 0.79, 0.96], abs=0.01)
    assert rf.dense_bytes + rf.expert_bytes * 8 / 160 == pytest.approx(32e9)  # B=1 reads the active weights


def test_decode_run_is_iteration_by_iteration() -> None:
    rf = Roofline(MODELS["deepswe-32b"], hw("h100", 4), Efficiency())
    times = rf.decode_run(5, 10_000.0, 50)
    expected = [rf.iteration(5, 10_000 + 5 * (i + 1)) for i in range(50)]
    np.testing.assert_allclose(times, expected, rtol=1e-12)


def test_fixed_time_and_efficiency_scale() -> None:
    model = ModelShape(params=1e9, n_layers=2, n_q_heads=2, n_kv_heads=1, d_head=8)
    dev = Hardware(hbm_bw=1e9, flops=1e15, mem_bytes=1e10)
    slow = Roofline(model, dev, Efficiency(bw=0.25, kv_bw=0.25, t_fixed_s=0.5))
    fast = Roofline(model, dev, Efficiency(bw=1.0, kv_bw=1.0, t_fixed_s=0.0))
    assert slow.iteration(1, 100) == pytest.approx(0.5 + 4 * fast.iteration(1, 100))
    assert slow.iteration(0, 0) == 0.0


def test_weights_that_do_not_fit_name_the_fix() -> None:
    with pytest.raises(ComemError) as err:
        kv_capacity_tokens(MODELS["glm-4.7"], hw("h100", 1))
    assert "n_gpu" in err.value.fix


def test_shape_validation() -> None:
    with pytest.raises(ValueError):
        ModelShape(params=1e9, active_params=2e9, n_layers=1, n_q_heads=1, n_kv_heads=1, d_head=8)
    with pytest.raises(ValueError):
        ModelShape(params=1e9, n_layers=1, n_q_heads=1, n_kv_heads=1, d_head=8, n_experts=8)


def test_parallel_devices_pay_collectives_per_layer() -> None:
    """With n > 1, every layer pays its collectives' latency (a dense layer two all-reduces; an MoE layer one
    all-reduce, a dispatch and a combine) and its kernels' floor; their bytes go over the links. One device pays
    only the kernel floors."""
    for name, reduces, a2a in (("deepswe-32b", 2, 0), ("glm-4.7", 1, 2)):
        model = MODELS[name]
        dev = hw("h200", 8)
        rf, bare = Roofline(model, dev, PEAK), Roofline(model, ideal("h200", 8), PEAK)
        per_layer = (model.kernels_per_layer * dev.kernel_floor_s + reduces * dev.allreduce_latency_s
                     + a2a * dev.alltoall_latency_s)
        h, k = model.d_model, model.top_k or 0
        per_token = reduces * 2 * 7 / 8 * h * 2 / dev.link_bw + a2a * 7 / 8 * k * h * 1 / dev.link_bw
        tokens = 64
        extra = rf.iteration(tokens, tokens * 8192.0) - bare.iteration(tokens, tokens * 8192.0)
        assert extra == pytest.approx(model.n_layers * (per_layer + per_token * tokens), rel=1e-9)
    one = Roofline(MODELS["qwen3-4b"], hw("h100", 1), PEAK)
    floor = MODELS["qwen3-4b"].n_layers * 10 * HARDWARE["h100"].kernel_floor_s
    assert one.iteration(1, 8192) - Roofline(MODELS["qwen3-4b"], ideal("h100", 1), PEAK).iteration(1, 8192) == (
        pytest.approx(floor))


def test_moe_decode_is_latency_bound_at_batch_one() -> None:
    """Large-MoE decode at batch 1 is set by per-layer latencies, not by the active weights: Qwen3-Coder-480B on
    8x H200 reads 35 GB per token (under 2 ms) yet takes about 12 ms, as AIConfigurator has it."""
    rf = Roofline(MODELS["qwen3-coder-480b-a35b"], hw("h200", 8), Efficiency())
    tpot = rf.iteration(1, 8192 + 150)
    assert 0.011 < tpot < 0.014
    assert rf.weights_read(1) / rf.bw_w < 0.15 * tpot
