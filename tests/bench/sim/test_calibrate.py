"""Calibration recovers known efficiencies from synthetic replay rows, and validates the simulator with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

from comem.bench.records import MemoryRow, StepRow
from comem.bench.sim.calibrate import calibrate, fit, overlaps, predict_total, split, summary_lengths
from comem.bench.sim.config import load_config
from comem.core.errors import ComemError
from comem.core.metrics import mape
from tests.bench.sim.helpers import TRUE, WORKLOAD, replay


def replay_rows(arms: list[str], seeds: range = range(4)) -> list[StepRow]:
    return replay(arms, seeds)[0]


@pytest.fixture(scope="module")
def data() -> tuple[list[StepRow], list[MemoryRow]]:
    return replay(["full", "kso-k2", "mask", "full-nocache"])


@pytest.fixture(scope="module")
def rows(data: tuple[list[StepRow], list[MemoryRow]]) -> list[StepRow]:
    return data[0]


def test_fit_recovers_the_efficiencies(rows: list[StepRow]) -> None:
    spec = load_config("cpu-qwen2.5-coder").agent
    got = fit(rows, spec).efficiency
    # mfu and attn are well determined. On this CPU device attention is compute bound in prefill and decode alike,
    # so kv_bw never decides a time and stays at the prior; t_fixed, the per-request time and the constant
    # weight-read time of single-sequence decode are only weakly determined (a few ms against seconds-long calls,
    # so the prior holds them near the preset); what must match are the predictions.
    assert (got.mfu, got.attn) == pytest.approx((TRUE.mfu, TRUE.attn), rel=0.02)
    fitted = spec.model_copy(update={"efficiency": got})
    assert mape(predict_total(rows, fitted), [r.agent_total_s for r in rows]) < 1e-3


def test_fit_recovers_the_contention_between_colocated_servers() -> None:
    rows, memory = replay(["kso-k1", "full"], range(3), contention=1.8)
    assert overlaps(rows, memory).max() > 0.5
    # The fit stretches a call by its overlap share; the simulator slows whole iterations that start while the
    # peer computes. The two agree only roughly, so the check is on the factor and on the simulator's errors.
    result = calibrate(rows, load_config("cpu-qwen2.5-coder", WORKLOAD), memory)
    assert result.contention == pytest.approx(1.8, rel=0.15)
    assert result.mape_sim is not None and result.mape_sim < 0.05
    assert fit(rows, load_config("cpu-qwen2.5-coder").agent, contention=1.3).contention == 1.3  # no memory rows


def test_calibration_validates_the_simulator(data: tuple[list[StepRow], list[MemoryRow]],
                                            tmp_path: Path) -> None:
    rows, memory = data
    config = load_config("cpu-qwen2.5-coder", WORKLOAD)
    result = calibrate(rows, config, memory)
    assert result.contention < 1.01  # the servers did not slow each other down here
    assert result.mape_held_out < 1e-3 and result.held_out_rows > 0 and result.fit_rows > 0
    assert {c.arm for c in result.validation} == {"full", "kso-k2", "mask", "full-nocache"}
    assert result.mape_sim is not None and result.mape_sim < 1e-3
    result.write(tmp_path / "calibration.json")
    loaded = load_config("cpu-qwen2.5-coder", calibration=tmp_path / "calibration.json")
    assert loaded.agent.efficiency == result.efficiency == loaded.memory.efficiency


def test_split_holds_out_whole_trajectories(rows: list[StepRow]) -> None:
    fit_rows, held = split(rows)
    assert {r.trajectory for r in fit_rows} == {"s0", "s2"} and {r.trajectory for r in held} == {"s1", "s3"}
    one = [r for r in rows if r.trajectory == "s0"]
    a, b = split(one)
    assert {r.step % 2 for r in a} == {0} and {r.step % 2 for r in b} == {1}


def test_too_few_rows() -> None:
    with pytest.raises(ComemError, match="concurrency 1"):
        fit([], load_config("cpu-smollm2").agent)


def test_summary_lengths_from_memory_rows() -> None:
    _, memory = replay(["kso-k2"], range(1))
    lengths = [m.model_copy(update={"summary_tokens": n}) for m, n in zip(memory, (100, 120, 300, 0), strict=False)]
    assert summary_lengths(lengths) == {"kso-k2": 120}


def test_equal_hardware_fits_the_baselines_server_on_its_own() -> None:
    """On equal hardware `full` runs on an agent server with every core (here twice as fast), the memory arms on
    one with their share: the deployment's factors come from the memory arms' server, the baseline's separately,
    and the simulator reproduces both."""
    fast = TRUE.model_copy(update={n: getattr(TRUE, n) * 2 for n in ("bw", "kv_bw", "mfu", "attn")}
                           | {"t_fixed_s": TRUE.t_fixed_s / 2})
    base, _ = replay(["full"], true=fast)
    arms, memory = replay(["kso-k2", "mask"])
    rows = [r.model_copy(update={"agent_threads": 2}) for r in base] + \
        [r.model_copy(update={"agent_threads": 1}) for r in arms]
    result = calibrate(rows, load_config("cpu-qwen2.5-coder", WORKLOAD), memory)
    assert (result.agent_threads, result.baseline_threads) == (1, 2)
    assert (result.efficiency.mfu, result.efficiency.attn) == pytest.approx((TRUE.mfu, TRUE.attn), rel=0.02)
    assert result.baseline_efficiency is not None
    assert (result.baseline_efficiency.mfu, result.baseline_efficiency.attn) == pytest.approx(
        (fast.mfu, fast.attn), rel=0.02)
    assert {c.arm for c in result.validation} == {"full", "kso-k2", "mask"}
    assert result.mape_sim is not None and result.mape_sim < 1e-3
    mixed = calibrate([r.model_copy(update={"agent_threads": 1}) for r in rows],
                      load_config("cpu-qwen2.5-coder", WORKLOAD), memory, check=False)
    assert mixed.mape_fit > 0.05  # one fit over both servers misses: why they are fitted apart
