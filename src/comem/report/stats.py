"""Seeded percentile-bootstrap intervals, for success rates and for paired latency ratios between arms.

Episodes are the resampled unit. Quantities that belong to one episode (its steps' summed latency and its
step count, or the same task and seed under two arms) are columns of one group and are resampled together,
so a ratio of per-step means is a cluster bootstrap and a paired comparison keeps its pairing. Groups that are
not paired are resampled independently. With very few episodes a percentile interval is too narrow; the
report prints the episode count next to every interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel

RESAMPLES = 2000


class Interval(BaseModel):
    value: float
    low: float
    high: float


def bootstrap(groups: Sequence[Sequence[Sequence[float]]], statistic: Callable[..., np.ndarray], *, seed: int = 0,
              resamples: int = RESAMPLES, confidence: float = 0.95) -> Interval | None:
    """Point value and percentile interval of `statistic(*columns)`.

    `groups`: each group is a list of equally long columns (one value per episode); rows of a group are
    resampled together, groups independently. `statistic` gets every column of every group, in order, as
    arrays whose last axis is the episode axis, and reduces that axis. None when a group is empty or the
    statistic is undefined on the data (e.g. a zero denominator).
    """
    data = [np.asarray(group, dtype=float) for group in groups]  # each (columns, episodes)
    if any(g.shape[1] == 0 for g in data):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(statistic(*(col for g in data for col in g)))
        if not np.isfinite(point):
            return None
        rng = np.random.default_rng(seed)
        picks = [rng.integers(0, g.shape[1], size=(resamples, g.shape[1])) for g in data]
        samples = np.asarray(statistic(*(col[idx] for g, idx in zip(data, picks, strict=True) for col in g)))
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(value=point, low=float(low), high=float(high))


def mean_ci(values: Sequence[float], *, seed: int = 0) -> Interval | None:
    """Mean with its interval (a success rate is the mean of 0/1 outcomes)."""
    return bootstrap([[values]], lambda x: x.mean(axis=-1), seed=seed)


def ratio_of_means_ci(numerator: Sequence[float], denominator: Sequence[float], *, paired: bool,
                      seed: int = 0) -> Interval | None:
    """mean(numerator) / mean(denominator); paired: element i of both belongs to one unit (same task, seed)."""
    groups = [[numerator, denominator]] if paired else [[numerator], [denominator]]
    return bootstrap(groups, lambda a, b: a.mean(axis=-1) / b.mean(axis=-1), seed=seed)


def per_step_ratio_ci(base: tuple[Sequence[float], Sequence[float]], other: tuple[Sequence[float], Sequence[float]],
                      *, paired: bool, seed: int = 0) -> Interval | None:
    """(Σ base latency / Σ base steps) / (Σ other latency / Σ other steps), episodes resampled as clusters.

    `base` and `other` are (per-episode summed step latency, per-episode step count).
    """
    def ratio(bl: np.ndarray, bs: np.ndarray, ol: np.ndarray, os_: np.ndarray) -> np.ndarray:
        return (bl.sum(axis=-1) / bs.sum(axis=-1)) / (ol.sum(axis=-1) / os_.sum(axis=-1))

    groups = [[*base, *other]] if paired else [list(base), list(other)]
    return bootstrap(groups, ratio, seed=seed)


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None
