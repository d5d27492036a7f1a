"""Every figure's definition (comem.core.metrics) on data whose answers are known, and the bootstrap: coverage on
distributions with known parameters, determinism per seed, pairing, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from comem.core.metrics import (
    BASELINE,
    EngineCurve,
    EpisodeCost,
    HorizonShape,
    bootstrap,
    bound_costs,
    cache_reuse,
    e2e_speedup,
    efficiency,
    exposed_share,
    finished_calls,
    first_win,
    hidden_share,
    ideal_speedup,
    installed_launches,
    kso_bound,
    last_launch,
    mape,
    mean,
    mean_ci,
    memory_call_s,
    memory_slack_s,
    one_engine_bound,
    paired,
    peak_step_ratio,
    per_step_ratio_ci,
    percentile,
    ratio_of_means_ci,
    span_s,
    speedups,
    step_speedup,
)
from comem.core.records import MemoryRecord, MemoryTiming, Step, StepTiming

# --------------------------------------------------------------------------- percentiles


def test_percentile_interpolates_linearly_like_numpy() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert percentile([3.0], 90) == 3.0
    assert percentile([0.5, 0.7, 3.2, 8.0], 90) == pytest.approx(6.56)  # nearest rank said 8.0
    assert percentile([], 50) is None and percentile([1, 2, 3, 4], 50) == 2.5  # P50 is the median
    values = np.random.default_rng(0).exponential(size=37)
    assert percentile(values, 73) == pytest.approx(float(np.percentile(values, 73)))


def test_mean() -> None:
    assert mean([]) is None and mean([1.0, 2.0, 4.5]) == pytest.approx(2.5) and mean(x for x in (1, 3)) == 2.0


# --------------------------------------------------------------------------- bootstrap


def coverage(draw, truth: float, interval, trials: int = 200) -> float:
    rng = np.random.default_rng(1234)
    hits = 0
    for trial in range(trials):
        ci = interval(draw(rng), trial)
        hits += ci.low <= truth <= ci.high
    return hits / trials


def test_mean_interval_covers_a_normal_mean_about_95_percent_of_the_time() -> None:
    rate = coverage(lambda rng: rng.normal(3.0, 2.0, size=60), 3.0, lambda x, t: mean_ci(x, seed=t))
    assert 0.90 <= rate <= 0.99


def test_success_rate_interval_covers_a_bernoulli_p() -> None:
    rate = coverage(lambda rng: (rng.random(80) < 0.3).astype(float), 0.3, lambda x, t: mean_ci(x, seed=t))
    assert 0.89 <= rate <= 0.99


def test_paired_ratio_interval_covers_the_true_ratio_of_means() -> None:
    def draw(rng):  # per-task difficulty shared by both arms; arm b is 2x faster on average
        base = rng.exponential(10.0, size=50)
        return base * rng.lognormal(0, 0.1, 50), 0.5 * base * rng.lognormal(0, 0.1, 50)

    truth = np.exp(0.1 ** 2 / 2) / (0.5 * np.exp(0.1 ** 2 / 2))
    rate = coverage(draw, truth, lambda ab, t: ratio_of_means_ci(*ab, paired=True, seed=t))
    assert 0.88 <= rate <= 0.99


def test_pairing_narrows_the_interval_when_tasks_vary_more_than_arms() -> None:
    rng = np.random.default_rng(5)
    base = rng.exponential(10.0, size=40)
    a, b = base * 1.0, base * 0.5 * rng.lognormal(0, 0.05, 40)
    paired_ci, unpaired = ratio_of_means_ci(a, b, paired=True), ratio_of_means_ci(a, b, paired=False)
    assert paired_ci.value == pytest.approx(unpaired.value)
    assert paired_ci.high - paired_ci.low < (unpaired.high - unpaired.low) / 3


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    values = np.random.default_rng(0).normal(size=30)
    assert mean_ci(values, seed=3) == mean_ci(values, seed=3)
    assert mean_ci(values, seed=3) != mean_ci(values, seed=4)
    assert mean_ci(values, seed=3).value == pytest.approx(values.mean())


def test_mean_interval_of_rewards() -> None:  # was eval-memory's own bootstrap_ci
    assert mean_ci([]) is None and mean_ci([4.0, 4.0, 4.0]).bounds == (4.0, 4.0)
    values = [0.0, 10.0] * 10 + [5.0] * 5
    ci = mean_ci(values, seed=3, resamples=500, confidence=0.9)
    assert ci.low < sum(values) / len(values) < ci.high and ci == mean_ci(values, seed=3, resamples=500,
                                                                             confidence=0.9)
    assert ci.low >= 0.0 and ci.high <= 10.0
    assert ci.high - ci.low < mean_ci(values, seed=3).high - mean_ci(values, seed=3).low  # 90% inside 95%


def test_per_step_ratio_pools_steps_across_episodes() -> None:
    # full: 2 episodes, 10 s over 4 steps and 2 s over 2 steps -> 2 s/step; kso: 3 s over 3 steps, 1 s over 2 -> 0.8
    ci = per_step_ratio_ci(([10.0, 2.0], [4, 2]), ([3.0, 1.0], [3, 2]), paired=True)
    assert ci.value == pytest.approx(2.0 / 0.8) and ci.low <= ci.value <= ci.high


def test_edge_cases() -> None:
    assert mean_ci([]) is None
    one = mean_ci([0.7])
    assert (one.value, one.low, one.high) == (0.7, 0.7, 0.7)
    assert ratio_of_means_ci([1.0, 2.0], [0.0, 0.0], paired=True) is None  # undefined, not infinite
    constant = mean_ci([1.0] * 10)
    assert (constant.low, constant.high) == (1.0, 1.0)
    assert bootstrap([[[1.0, 2.0]], [[]]], lambda a, b: a.mean(-1) - b.mean(-1)) is None


# --------------------------------------------------------------------------- episodes and speedups


def steps(calls: list[float], tool: float, waits: list[float] | None = None) -> list[StepTiming]:
    """Back-to-back iterations of one episode: wait, call, tool."""
    out, t = [], 0.0
    for call, wait in zip(calls, waits or [0.0] * len(calls), strict=True):
        start, t = t, t + wait + call + tool
        out.append(StepTiming(agent_ttft_s=call / 2, agent_total_s=call, tool_s=tool, memory_wait_s=wait,
                              started_s=start, finished_s=t))
    return out


def test_a_step_knows_its_latency_decode_and_call_span() -> None:
    [row] = steps([2.0], tool=1.0, waits=[0.5])
    assert row.latency_s == 2.5 and row.decode_s == 1.0 and row.call_span == (0.5, 2.5)


def test_a_trajectory_step_is_a_step_timing_and_old_lines_still_load() -> None:
    line = ('{"type": "step", "index": 3, "thought": "t", "response": "r", "action": null, "observation": "o", '
            '"prompt_tokens": 10, "agent_ttft_s": 0.5, "agent_total_s": 2.0, "memory_wait_s": 0.25, '
            '"started_s": 1.0, "finished_s": 4.0, "context_chars": 7}')
    step = Step.model_validate_json(line)
    assert isinstance(step, StepTiming) and step.latency_s == 2.25 and step.decode_s == 1.5
    assert step.model_dump()["agent_total_s"] == 2.0 and "decode_s" not in step.model_dump()  # the line stays flat
    assert StepTiming.model_validate(step.model_dump(include=set(StepTiming.model_fields))).latency_s == 2.25


def test_span_runs_from_first_start_to_last_tool_end() -> None:
    assert span_s(steps([1.0, 2.0], tool=0.5)) == 4.0 and span_s([]) == 0.0


def test_episode_cost_sums_steps_and_takes_a_measured_wall() -> None:
    cost = EpisodeCost.of(steps([2.0, 3.0], tool=1.0, waits=[0.0, 1.0]))
    assert (cost.steps, cost.latency_s, cost.call_s, cost.tool_s, cost.exposed_s, cost.wall_s) == (2, 6, 5, 2, 1, 8)
    assert EpisodeCost.of(steps([1.0], 0.0), wall_s=9.0).wall_s == 9.0


def test_speedups_by_hand() -> None:
    # The same two episodes in both arms: full T = 4, 4 | 6, 6; kso T = 2, 3 (1 s wait) | 3, 3; tool 1 s a step
    base = {("a", 0): EpisodeCost.of(steps([4.0, 4.0], 1.0)), ("b", 0): EpisodeCost.of(steps([6.0, 6.0], 1.0))}
    arm = {("a", 0): EpisodeCost.of(steps([2.0, 2.0], 1.0, waits=[0.0, 1.0])),
           ("b", 0): EpisodeCost.of(steps([3.0, 3.0], 1.0))}
    s = speedups(base, arm)
    assert s.pairs == 2
    assert s.step.value == pytest.approx((20 / 4) / (11 / 4))  # ratio of mean step latency, not of medians (5/3)
    assert s.step.low <= s.step.value <= s.step.high
    assert s.e2e.value == pytest.approx((10 + 14) / (7 + 8))  # mean wall = Σ wall over the same episodes
    assert s.ideal == pytest.approx((10 + 14) / (6 + 8))  # S*: the memory wait removed
    assert s.eta == pytest.approx(s.e2e.value / s.ideal) == efficiency(s.e2e.value, s.ideal)
    same = speedups(base, base)
    assert (same.step.value, same.e2e.value, same.ideal, same.eta) == (1.0, 1.0, 1.0, 1.0)
    assert same.step.bounds == (1.0, 1.0)


def test_speedups_pair_common_episodes_else_fall_back_to_all() -> None:
    a, b = EpisodeCost.of(steps([4.0], 0.0)), EpisodeCost.of(steps([1.0], 0.0))
    assert paired({1: a, 2: a}, {2: b, 3: b}) == ([a], [b], True)
    assert paired({1: a, 2: a}, {3: b}) == ([a, a], [b], False)
    unpaired = speedups({1: a, 2: a}, {3: b})
    assert unpaired.pairs == 0 and unpaired.e2e.value == pytest.approx(4.0)  # means, so episode counts do not matter
    assert step_speedup([a, a], [b], paired=False).value == pytest.approx(4.0)
    assert e2e_speedup([a], [b], paired=True).value == pytest.approx(4.0)
    assert ideal_speedup([a], [EpisodeCost(0, 0.0, 0.0, 0.0, 0.0, 0.0)]) is None and efficiency(1.0, None) is None


def test_peak_per_step_needs_enough_agents() -> None:
    base, arm = {0: [4.0]}, {0: [1.0]}
    assert peak_step_ratio(base, arm, min_agents=2) is None
    assert peak_step_ratio(base, arm) == (4.0, 0)
    assert peak_step_ratio({0: [4.0, 2.0], 1: [9.0, 9.0]}, {0: [1.0, 1.0], 1: [3.0, 3.0]}) == (3.0, 0)


# --------------------------------------------------------------------------- exposed and hidden memory time


def call(i: int, latency: float, wait: float, status: str = "ok") -> MemoryTiming:
    return MemoryTiming(id=i, covers=(0, i + 1), launch_step=i + 1, status=status, input_tokens=100,
                        launched_s=10.0 * i, finished_s=10.0 * i + latency, exposed_wait_s=wait)


def test_exposed_share() -> None:
    assert exposed_share(1.0, 15.0) == pytest.approx(1 / 15) and exposed_share(0.0, 0.0) == 0.0


def test_hidden_share_counts_every_finished_call_and_is_clamped() -> None:
    ok, failed = call(0, 2.0, 0.5), call(1, 1.0, 0.0, status="error")
    superseded, pending = call(2, 0.5, 0.0, status="superseded"), call(3, 0.0, 0.0, "pending")
    pending.finished_s = None
    assert finished_calls([ok, failed, superseded, pending]) == [ok, failed]
    assert hidden_share([ok, failed, superseded, pending]) == pytest.approx(1 - 0.5 / 3.0)
    assert hidden_share([call(0, 1.0, 1.000001)]) == 0.0  # the agent's clock overran the call: clamped
    assert hidden_share([superseded, pending]) is None  # nothing finished: undefined
    record = MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 1), launch_step=1, status="ok",
                          launched_s=1.0, finished_s=3.0, exposed_wait_s=0.5)
    assert isinstance(record, MemoryTiming) and hidden_share([record]) == pytest.approx(0.75)


def test_cache_reuse_counts_only_calls_that_report_it() -> None:
    assert cache_reuse([(100, 0), (100, 80), (100, 90), (500, None)]) == pytest.approx(170 / 300)
    assert cache_reuse([(100, None)]) is None and cache_reuse([]) is None


def test_mape_skips_zero_measurements() -> None:
    assert mape([1.1, 2.0, 5.0], [1.0, 2.5, 0.0]) == pytest.approx((0.1 + 0.2) / 2)
    assert np.isnan(mape([1.0], [0.0]))


def test_the_baseline_is_the_full_history_arm() -> None:
    assert BASELINE == "full"


# --------------------------------------------------------------------------- the engine curve and the kso bound


def curve(per_cached_s: float = 1.5e-3, per_new_s: float = 0.012) -> EngineCurve:
    return EngineCurve(model="m", threads=1, new_tokens=300, output_tokens=80, append_s=9.7,
                       per_cached_s=per_cached_s, per_new_s=per_new_s, prefill_s=9.0)


SHAPE = HorizonShape(head_tokens=1000, step_tokens=300, summary_tokens=128)


def test_a_call_costs_the_line_plus_the_extra_new_tokens() -> None:
    c = curve()
    assert c.call_s(2000, 300) == pytest.approx(9.7 + 3.0)
    assert c.call_s(2000, 400) == pytest.approx(9.7 + 3.0 + 1.2)
    assert c.prefill_call_s(1500) == pytest.approx(9.0 + 18.0)


def test_the_bound_installs_on_the_kso_schedule() -> None:
    from comem.context.kso import launch_due

    for k in (1, 2, 4):
        full, kso = bound_costs(curve(), SHAPE, 40, k)
        installs = [t for t in range(1, 40) if kso[t] == pytest.approx(curve().call_s(1000, 128 + 300))]
        assert installs == [n + 1 for n in range(39) if launch_due(n, k)]
        first = installs[0]
        assert kso[:first] == full[:first]  # before the first summary kso sends the full history


def test_the_bound_grows_with_the_horizon_and_crosses_one_where_it_says() -> None:
    bounds = [kso_bound(curve(), SHAPE, n, 4) for n in (8, 30, 60, 100)]
    assert bounds == sorted(bounds) and bounds[-1] > 1.5
    first = first_win(lambda n: kso_bound(curve(), SHAPE, n, 4))
    assert first is not None and kso_bound(curve(), SHAPE, first, 4) > 1 >= kso_bound(curve(), SHAPE, first - 1, 4)


def test_without_a_cost_per_cached_token_kso_cannot_win() -> None:
    flat = curve(per_cached_s=0.0)
    assert all(kso_bound(flat, SHAPE, n, 4) <= 1.0 + 1e-12 for n in range(1, 120))
    assert first_win(lambda n: kso_bound(flat, SHAPE, n, 4), max_steps=200) is None


def test_tool_time_pulls_the_bound_towards_one() -> None:
    slow_tools = SHAPE.model_copy(update={"tool_s": 60.0})
    assert 1 < kso_bound(curve(), slow_tools, 60, 4) < kso_bound(curve(), SHAPE, 60, 4)


def test_a_faster_baseline_engine_lowers_the_bound() -> None:
    """Equal hardware: full's agent on every core, kso's on its share; the bound compares the two engines."""
    fast = curve().model_copy(update={"append_s": 6.0, "per_cached_s": 1.0e-3, "per_new_s": 0.008, "threads": 2})
    assert kso_bound(curve(), SHAPE, 60, 4, baseline=fast) < kso_bound(curve(), SHAPE, 60, 4)
    assert kso_bound(curve(), SHAPE, 60, 4, baseline=curve()) == kso_bound(curve(), SHAPE, 60, 4)
    later = first_win(lambda n: kso_bound(curve(), SHAPE, n, 4, baseline=fast))
    assert later is not None and later > (first_win(lambda n: kso_bound(curve(), SHAPE, n, 4)) or 0)


def test_installed_launches_are_the_kso_schedule_less_the_last_step() -> None:
    from comem.context.kso import launch_due

    for k in (1, 2, 4):
        assert installed_launches(40, k) == [n for n in range(1, 39) if launch_due(n, k)]
    assert installed_launches(4, 4) == []  # the launch at n = 3 would be installed at step 4, past the end


def test_on_one_engine_the_memory_work_is_paid_unless_tools_cover_it() -> None:
    """One saturated engine: kso pays its updates on top of its own calls; with no tool time the bound is the
    hidden-memory bound's numerator over kso's calls plus every installed update."""
    full, kso = bound_costs(curve(), SHAPE, 60, 4)
    updates = [memory_call_s(curve(), SHAPE, n, 4, "incremental") for n in installed_launches(60, 4)]
    expected = sum(full) / (sum(kso) + sum(updates))
    assert one_engine_bound(curve(), SHAPE, 60, 4, "incremental") == pytest.approx(expected)
    assert one_engine_bound(curve(), SHAPE, 60, 4, "incremental") < kso_bound(curve(), SHAPE, 60, 4)
    # from scratch reads a growing history: dearer than incremental at 60 steps
    assert one_engine_bound(curve(), SHAPE, 60, 4, "from_scratch") < one_engine_bound(curve(), SHAPE, 60, 4,
                                                                                       "incremental")
    # the same as the hidden-memory bound when tool time exceeds every update
    idle = SHAPE.model_copy(update={"tool_s": 1000.0})
    assert one_engine_bound(curve(), idle, 60, 4, "incremental") == pytest.approx(kso_bound(curve(), idle, 60, 4))
    # and it still crosses one, later
    one = first_win(lambda n: one_engine_bound(curve(), SHAPE, n, 4, "incremental"))
    hidden = first_win(lambda n: kso_bound(curve(), SHAPE, n, 4))
    assert one is not None and hidden is not None and one > hidden


# --------------------------------------------------------------------------- can the memory call hide?

TEMPLATE = (60, 40)  # P = 60 + H = 1060 tokens before the steps, Q = 40 after them


def test_launches_fall_on_the_kso_schedule() -> None:
    from comem.context.kso import launch_due

    assert (last_launch(30, 4), last_launch(60, 4), last_launch(30, 1), last_launch(30, 2)) == (27, 59, 30, 29)
    assert last_launch(2, 4) <= 0  # no launch yet
    for k in (1, 2, 3, 4):
        assert all(launch_due(last_launch(s, k), k) for s in range(k, 60))


def test_the_first_update_finds_nothing_cached_in_either_mode() -> None:
    for n, k in ((3, 4), (4, 4), (1, 1)):
        prompt = 1060 + n * 300 + 40
        for mode in ("from_scratch", "incremental"):
            assert memory_call_s(curve(), SHAPE, n, k, mode, TEMPLATE) == pytest.approx(9.7 + 0.012 * (prompt - 300))
    assert memory_call_s(curve(), SHAPE, 4, 4, "from_scratch", TEMPLATE) == pytest.approx(33.7)  # 9.7 + .012·2000


def test_from_scratch_reads_the_previous_prompt_from_the_cache_and_grows_by_b_k_g_a_period() -> None:
    # n = 7: C = 1060 + 3·300 = 1960 cached, N = 4·300 + 40 = 1240 new: 9.7 + 2.94 + 0.012·940
    assert memory_call_s(curve(), SHAPE, 7, 4, "from_scratch", TEMPLATE) == pytest.approx(23.92)
    costs = [memory_call_s(curve(), SHAPE, n, 4, "from_scratch", TEMPLATE) for n in (7, 11, 15, 99)]
    assert costs[1] - costs[0] == pytest.approx(1.5e-3 * 4 * 300) == costs[2] - costs[1]


def test_incremental_caches_only_the_header_and_does_not_grow() -> None:
    # C = 1060 cached, N = 128 + 4·300 + 40 = 1368 new: 9.7 + 1.59 + 0.012·1068
    costs = [memory_call_s(curve(), SHAPE, n, 4, "incremental", TEMPLATE) for n in (7, 11, 59, 99)]
    assert costs == [pytest.approx(24.106)] * 4
    assert memory_call_s(curve(), SHAPE, 99, 4, "incremental", TEMPLATE) < \
        memory_call_s(curve(), SHAPE, 99, 4, "from_scratch", TEMPLATE)


def test_the_slack_is_the_bounded_agent_step_plus_its_tool() -> None:
    tools = SHAPE.model_copy(update={"tool_s": 5.0})
    assert memory_slack_s(curve(), tools, 7, 4) == pytest.approx(9.7 + 1.5e-3 * (1000 + 128 + 3 * 300) + 5.0)
    assert memory_slack_s(curve(), SHAPE, 5, 1) == pytest.approx(9.7 + 1.5 + 0.012 * 128)  # an install every step
    assert memory_slack_s(curve(), SHAPE, 3, 4) == pytest.approx(9.7 + 1.5e-3 * 1600)  # before any install: full
