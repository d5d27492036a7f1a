"""Speedup figures on hand-made rows whose answers are known."""

from __future__ import annotations

import pytest

from comem.bench.metrics import figures, percentile, trajectory_walls
from comem.bench.records import StepTiming


def row(arm: str, step: int, total: float, tool: float = 1.0, wait: float = 0.0, start: float | None = None,
        cached: int | None = 50, agent: int = 0) -> StepTiming:
    start = step * 10.0 if start is None else start
    return StepTiming(arm=arm, concurrency=1, agent=agent, trajectory="t", step=step, prompt_tokens=100,
                      cached_tokens=cached, completion_tokens=8, ttft_s=total / 2, decode_s=total / 2,
                      total_s=total, tool_s=tool, memory_wait_s=wait, started_s=start,
                      finished_s=start + wait + total + tool)


def test_speedups_bound_and_efficiency() -> None:
    full = [row("full", 0, 4.0), row("full", 1, 4.0)]  # each step: 4 s call + 1 s tool
    kso = [row("kso-k2", 0, 1.0, wait=0.0), row("kso-k2", 1, 1.0, wait=2.0)]
    by_arm = {f.arm: f for f in figures(full + kso)}
    base, arm = by_arm["full"], by_arm["kso-k2"]
    assert (base.s_step, base.s_e2e, base.s_star, base.eta) == (1.0, 1.0, 1.0, 1.0)
    assert arm.s_step == pytest.approx(4.0)
    assert arm.s_star == pytest.approx(10.0 / 4.0)  # Σ(T_full+τ) / Σ(T_arm+τ)
    # walls: full from 0 to 15 (step 1 starts at 10, takes 5); kso from 0 to 10 + 2 + 1 + 1 = 14
    assert arm.wall_s == pytest.approx(14.0) and base.wall_s == pytest.approx(15.0)
    assert arm.s_e2e == pytest.approx(15.0 / 14.0)
    assert arm.eta == pytest.approx((15.0 / 14.0) / 2.5)
    assert arm.exposed_share == pytest.approx(2.0 / 14.0)
    assert arm.cache_reuse == pytest.approx(0.5)


def test_no_baseline_no_ratios_and_unreported_cache() -> None:
    (only,) = figures([row("mask", 0, 2.0, cached=None)])
    assert only.s_step is None and only.s_e2e is None and only.eta is None
    assert only.cache_reuse is None


def test_walls_are_per_agent_and_percentile_is_nearest_rank() -> None:
    rows = [row("full", 0, 1.0, agent=0, start=0.0), row("full", 0, 1.0, agent=1, start=5.0)]
    assert sorted(trajectory_walls(rows)) == [2.0, 2.0]
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == 5.0
    assert percentile([3.0], 0.9) == 3.0
