"""The bootstrap: coverage on distributions with known parameters, determinism per seed, pairing, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from comem.report.stats import bootstrap, mean_ci, per_step_ratio_ci, percentile, ratio_of_means_ci


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
    paired, unpaired = ratio_of_means_ci(a, b, paired=True), ratio_of_means_ci(a, b, paired=False)
    assert paired.value == pytest.approx(unpaired.value)
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 3


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    values = np.random.default_rng(0).normal(size=30)
    assert mean_ci(values, seed=3) == mean_ci(values, seed=3)
    assert mean_ci(values, seed=3) != mean_ci(values, seed=4)
    assert mean_ci(values, seed=3).value == pytest.approx(values.mean())


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
    assert percentile([], 50) is None and percentile([1, 2, 3, 4], 50) == 2.5
