"""The replay's and simulator's per-arm figures (docs/metrics.md) on hand-made rows whose answers are known.
The definitions themselves are tested in tests/core/test_metrics.py."""

from __future__ import annotations

import pytest

from comem.bench.figures import figures, memory_figures, trajectory_walls
from comem.bench.records import MemoryRow, StepRow


def traj(arm: str, agent: int, calls: list[float], tool: float, waits: list[float] | None = None,
         cached: int | None = 50) -> list[StepRow]:
    """One trajectory of back-to-back iterations: wait, call, tool."""
    rows, t = [], 0.0
    waits = waits or [0.0] * len(calls)
    for step, (call, wait) in enumerate(zip(calls, waits, strict=True)):
        start = t
        t += wait + call + tool
        rows.append(StepRow(arm=arm, concurrency=2, agent=agent, trajectory=f"t{agent}", step=step,
                            prompt_tokens=100, cached_tokens=cached, completion_tokens=10, agent_ttft_s=call / 2,
                            agent_total_s=call, tool_s=tool, memory_wait_s=wait, started_s=start, finished_s=t))
    return rows


def test_a_step_knows_its_latency_and_call_span() -> None:
    [row] = traj("kso-k2", 0, [2.0], tool=1.0, waits=[0.5])
    assert row.latency_s == 2.5 and row.call_span == (0.5, 2.5)
    assert row.episode == (0, 0, "t0")


def test_rows_written_before_the_shared_timing_record_still_load() -> None:
    old = {"arm": "full", "concurrency": 1, "agent": 0, "trajectory": "t", "step": 0, "prompt_tokens": 10,
           "completion_tokens": 2, "ttft_s": 0.5, "decode_s": 1.5, "total_s": 2.0, "tool_s": 0.0,
           "started_s": 0.0, "finished_s": 2.0}
    row = StepRow.model_validate(old)
    assert (row.agent_ttft_s, row.agent_total_s, row.decode_s) == (0.5, 2.0, 1.5)
    assert StepRow.model_validate_json(row.model_dump_json()) == row


def test_walls_run_from_first_start_to_last_tool_end() -> None:
    assert trajectory_walls(traj("full", 0, [1.0, 2.0], tool=0.5)) == {(0, 0, "t0"): 4.0}


def test_speedups_by_hand() -> None:
    rows = traj("full", 0, [4.0, 4.0], 1.0) + traj("full", 1, [6.0, 6.0], 1.0)
    rows += traj("kso-k2", 0, [2.0, 2.0], 1.0, waits=[0.0, 1.0]) + traj("kso-k2", 1, [3.0, 3.0], 1.0)
    by = {f.arm: f for f in figures(rows)}
    full, kso = by["full"], by["kso-k2"]
    assert (full.s_step, full.s_e2e, full.s_star, full.eta) == (1.0, 1.0, 1.0, 1.0)
    assert kso.step_median_s == pytest.approx(3.0)  # T = wait + call: 2, 3, 3, 3
    assert kso.s_step == pytest.approx(5.0 / 2.75)  # mean T 20/4 over 11/4; the retired ratio of medians said 5/3
    assert kso.s_step_ci[0] <= kso.s_step <= kso.s_step_ci[1] and kso.pairs == 2
    assert kso.s_e2e == pytest.approx((10 + 14) / (7 + 8))
    assert kso.s_star == pytest.approx((10 + 14) / (6 + 8))  # the memory wait removed
    assert kso.eta == pytest.approx(kso.s_e2e / kso.s_star)
    assert kso.exposed_share == pytest.approx(1.0 / 15)
    assert kso.cache_reuse == pytest.approx(0.5)
    assert kso.step_p90_s == pytest.approx(3.0) and full.step_p90_s == pytest.approx(6.0)
    assert (kso.s_step_peak, kso.s_step_peak_at) == (pytest.approx(2.0), 0)
    assert kso.model_dump()["eta"] == kso.eta  # computed fields travel into summary files


def test_no_baseline_no_ratios_and_unreported_cache() -> None:
    [only] = figures(traj("mask", 0, [1.0], 0.0, cached=None))
    assert only.s_step is None and only.s_e2e is None and only.eta is None and only.step_median_s == 1.0
    assert only.cache_reuse is None and only.pairs == 0


def test_peak_needs_enough_agents() -> None:
    rows = traj("full", 0, [4.0], 0.0) + traj("kso-k2", 0, [1.0], 0.0)
    [_, kso] = figures(rows)  # concurrency 2: the peak needs >= 1 agent per step index
    assert (kso.s_step_peak, kso.s_step_peak_at) == (4.0, 0)


def test_memory_figures_hidden_share_and_reuse() -> None:
    def call(i: int, latency: float, wait: float, cached: int | None, status: str = "ok") -> MemoryRow:
        return MemoryRow(arm="kso-k2", concurrency=1, agent=0, trajectory="t", id=i, launch_step=2 * i + 1,
                         covers=(0, 2 * i + 1), status=status, input_tokens=100, cached_tokens=cached,
                         summary_tokens=8, launched_s=10.0 * i, finished_s=10.0 * i + latency, exposed_wait_s=wait)

    rows = [call(0, 4.0, 1.0, 0), call(1, 2.0, 0.0, 80), call(2, 6.0, 0.0, 90),
            call(3, 0.0, 0.0, None, status="superseded").model_copy(update={"finished_s": None})]
    [fig] = memory_figures(rows)
    assert fig.updates == 3 and fig.latency_median_s == 4.0 and fig.input_median_tokens == 100
    assert fig.hidden_share == pytest.approx(1 - 1.0 / 12.0)
    assert fig.cache_reuse == pytest.approx(170 / 300)
