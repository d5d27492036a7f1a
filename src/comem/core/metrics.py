"""Every reported figure, defined once: percentiles, speedups (per step, end to end, ideal), pipeline efficiency,
exposed memory wait, the memory model's hidden share, prefix-cache reuse, bootstrap intervals, the kso bound and
whether a memory call can hide in its slack.

`comem report` (run directories), `comem bench replay`, `comem bench simulate`, `comem bench calibrate` and
`comem eval-memory` compute their figures here and nowhere else; docs/metrics.md lists them with their
formulas. Notation, per agent step t of an episode: T_t = X_t + call_t is what the agent waits for before it can
act (X_t: exposed memory wait, call_t: the agent model call), τ_t the tool time. Speedups are the baseline arm
(`BASELINE`) over another arm, so > 1 means the other arm is faster.

numpy is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel

from comem.core.records import MemoryTiming, StepTiming

if TYPE_CHECKING:
    import numpy as np

BASELINE = "full"  # the arm every speedup is measured against: the whole history in context
RESAMPLES = 2000
CONFIDENCE = 0.95
Call = TypeVar("Call", bound=MemoryTiming)


# --------------------------------------------------------------------------- order statistics


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (q in [0, 100]) by linear interpolation between order statistics.

    With the n values sorted as x_0 <= ... <= x_{n-1}, h = (n - 1) q / 100 and
    P_q = x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)); numpy's default method, and what pandas and
    vLLM's benchmark report. P_50 is the median. None without values.
    """
    import numpy as np

    data = np.asarray(list(values), dtype=float)
    return float(np.percentile(data, q)) if data.size else None


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; None without values."""
    data = list(values)
    return math.fsum(data) / len(data) if data else None


# --------------------------------------------------------------------------- bootstrap


class Interval(BaseModel):
    """A point value and its percentile-bootstrap interval."""

    value: float
    low: float
    high: float

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


def bootstrap(groups: Sequence[Sequence[Sequence[float]]], statistic: Callable[..., np.ndarray], *, seed: int = 0,
              resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> Interval | None:
    """Point value of `statistic(*columns)` and its seeded percentile-bootstrap interval.

    Episodes are the resampled unit. `groups`: each group is a list of equally long columns (one value per
    episode); rows of a group are resampled together (a paired comparison keeps its pairing, a ratio of sums is a
    cluster bootstrap), groups independently. `statistic` gets every column of every group, in order, as arrays
    whose last axis is the episode axis, and reduces that axis. The interval is [P_a, P_100-a] of the resampled
    statistic (`percentile`), a = 50 (1 - confidence). None when a group is empty or the statistic is undefined
    on the data (e.g. a zero denominator). With very few episodes the interval is too narrow: print n beside it.
    """
    import numpy as np

    data = [np.asarray(group, dtype=float) for group in groups]  # each (columns, episodes)
    if any(g.ndim != 2 or g.shape[1] == 0 for g in data):
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


def mean_ci(values: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES,
            confidence: float = CONFIDENCE) -> Interval | None:
    """Mean of `values` with its bootstrap interval (a success rate is the mean of 0/1 outcomes)."""
    return bootstrap([[list(values)]], lambda x: x.mean(axis=-1), seed=seed, resamples=resamples,
                     confidence=confidence)


def ratio_of_means_ci(numerator: Sequence[float], denominator: Sequence[float], *, paired: bool,
                      seed: int = 0, resamples: int = RESAMPLES) -> Interval | None:
    """mean(numerator) / mean(denominator); paired: element i of both belongs to one unit (same task, seed; the
    same held-out record in eval-memory's share of full)."""
    groups = [[numerator, denominator]] if paired else [[numerator], [denominator]]
    return bootstrap(groups, lambda a, b: a.mean(axis=-1) / b.mean(axis=-1), seed=seed, resamples=resamples)


def per_step_ratio_ci(base: tuple[Sequence[float], Sequence[float]], other: tuple[Sequence[float], Sequence[float]],
                      *, paired: bool, seed: int = 0) -> Interval | None:
    """(Σ base latency / Σ base steps) / (Σ other latency / Σ other steps), episodes resampled as clusters.

    `base` and `other` are (per-episode summed step latency, per-episode step count).
    """
    def ratio(bl: np.ndarray, bs: np.ndarray, ol: np.ndarray, os_: np.ndarray) -> np.ndarray:
        return (bl.sum(axis=-1) / bs.sum(axis=-1)) / (ol.sum(axis=-1) / os_.sum(axis=-1))

    groups = [[*base, *other]] if paired else [list(base), list(other)]
    return bootstrap(groups, ratio, seed=seed)


# --------------------------------------------------------------------------- episodes and speedups


@dataclass(frozen=True)
class EpisodeCost:
    """What the speedups need from one episode (one trajectory of one agent): sums over its steps, and its wall."""

    steps: int
    latency_s: float  # Σ T_t = Σ (X_t + call_t)
    call_s: float  # Σ call_t
    tool_s: float  # Σ τ_t
    exposed_s: float  # Σ X_t
    wall_s: float  # the episode's wall time

    @classmethod
    def of(cls, steps: Sequence[StepTiming], wall_s: float | None = None) -> EpisodeCost:
        """Sums over `steps`; the wall is `wall_s` when the episode measured it, else `span_s(steps)`."""
        return cls(steps=len(steps), latency_s=math.fsum(s.latency_s for s in steps),
                   call_s=math.fsum(s.agent_total_s for s in steps), tool_s=math.fsum(s.tool_s for s in steps),
                   exposed_s=math.fsum(s.memory_wait_s for s in steps),
                   wall_s=span_s(steps) if wall_s is None else wall_s)


def span_s(steps: Iterable[StepTiming]) -> float:
    """Trajectory wall time: from the first step's start (before its memory wait) to the last step's end (after its
    tool call), max finished_s - min started_s; 0 without steps."""
    steps = list(steps)
    return max(s.finished_s for s in steps) - min(s.started_s for s in steps) if steps else 0.0


def paired(base: Mapping[Hashable, EpisodeCost], other: Mapping[Hashable, EpisodeCost],
           ) -> tuple[list[EpisodeCost], list[EpisodeCost], bool]:
    """The episodes both arms ran (same key: task and seed, or repeat, agent and trajectory), in the baseline's
    order, and True; when they share none, every episode of each arm, unpaired, and False."""
    keys = [k for k in base if k in other]
    if keys:
        return [base[k] for k in keys], [other[k] for k in keys], True
    return list(base.values()), list(other.values()), False


class Speedups(BaseModel):
    """The baseline arm over another arm, over the episodes `paired` picks."""

    pairs: int  # episodes paired by key; 0: the arms share none, each arm's own episodes were used
    step: Interval | None  # S_step, `step_speedup`
    e2e: Interval | None  # S_e2e, `e2e_speedup`
    ideal: float | None  # S*, `ideal_speedup`

    @property
    def eta(self) -> float | None:
        return efficiency(self.e2e.value if self.e2e else None, self.ideal)


def step_speedup(base: Sequence[EpisodeCost], other: Sequence[EpisodeCost], *, paired: bool,
                 seed: int = 0) -> Interval | None:
    """Per-step speedup S_step = (Σ T_base / Σ steps_base) / (Σ T_other / Σ steps_other): the ratio of the mean
    step latency, pooled over the episodes' steps, with a cluster bootstrap over episodes.

    A ratio of means, not of medians: it adds up to the time an agent spends waiting on the model, so it is what
    a time budget sees and it is consistent with S_e2e. Medians are reported as their own columns, never as a
    speedup.
    """
    return per_step_ratio_ci(([e.latency_s for e in base], [e.steps for e in base]),
                             ([e.latency_s for e in other], [e.steps for e in other]), paired=paired, seed=seed)


def e2e_speedup(base: Sequence[EpisodeCost], other: Sequence[EpisodeCost], *, paired: bool,
                seed: int = 0) -> Interval | None:
    """End-to-end speedup S_e2e = mean wall_base / mean wall_other over episodes (over paired episodes this is
    Σ wall_base / Σ wall_other), walls as measured, so exposed memory wait, tool time and overheads count."""
    return ratio_of_means_ci([e.wall_s for e in base], [e.wall_s for e in other], paired=paired, seed=seed)


def ideal_speedup(base: Sequence[EpisodeCost], other: Sequence[EpisodeCost]) -> float | None:
    """Ideal pipeline bound S* = mean Σ(T_base + τ) / mean Σ(call_other + τ) over episodes: the speedup if the
    other arm's memory work were perfectly hidden (its exposed wait X removed); None when undefined."""
    num, den = mean(e.latency_s + e.tool_s for e in base), mean(e.call_s + e.tool_s for e in other)
    return num / den if num is not None and den else None


def efficiency(s_e2e: float | None, s_star: float | None) -> float | None:
    """Pipeline efficiency η = S_e2e / S*. "Close to the physical limit": η >= 0.9 and X/wall <= 5%."""
    return s_e2e / s_star if s_e2e is not None and s_star else None


def speedups(base: Mapping[Hashable, EpisodeCost], other: Mapping[Hashable, EpisodeCost], *,
             seed: int = 0) -> Speedups:
    """S_step, S_e2e (with intervals) and S* of `other` against `base`, paired by episode key where possible."""
    b, o, is_paired = paired(base, other)
    return Speedups(pairs=len(b) if is_paired else 0, step=step_speedup(b, o, paired=is_paired, seed=seed),
                    e2e=e2e_speedup(b, o, paired=is_paired, seed=seed), ideal=ideal_speedup(b, o))


def peak_step_ratio(base: Mapping[int, Sequence[float]], other: Mapping[int, Sequence[float]],
                    min_agents: int = 1) -> tuple[float, int] | None:
    """Peak per-step speedup (the paper's): max over step index t of mean_t(T_base) / mean_t(T_other), where
    mean_t averages step t over agents, over indices with >= min_agents values in both; (ratio, t) or None."""
    best: tuple[float, int] | None = None
    for t, xs in base.items():
        ys = other.get(t)
        if not ys or len(xs) < min_agents or len(ys) < min_agents:
            continue
        num, den = mean(xs), mean(ys)
        if num is not None and den and (best is None or num / den > best[0]):
            best = (num / den, t)
    return best


# --------------------------------------------------------------------------- exposed and hidden memory time


def exposed_share(exposed_s: float, wall_s: float) -> float:
    """X/wall = Σ exposed memory wait / Σ wall time of the same episodes; 0 when no time passed."""
    return exposed_s / wall_s if wall_s > 0 else 0.0


def finished_calls(records: Iterable[Call]) -> list[Call]:
    """Memory calls that finished, successfully or with an error (status ok or error, with an end time). A
    superseded or still-pending call never finished, so its latency is unknown and it counts nowhere."""
    return [r for r in records if r.finished]


def hidden_share(records: Iterable[MemoryTiming]) -> float | None:
    """Hidden share = 1 - Σ exposed wait / Σ latency over the finished memory calls (ok and error: a failed call
    also cost time the agent may have waited for), clamped to [0, 1] (a wait measured on the agent's clock can
    overrun the call by microseconds). None when no finished call took any time."""
    calls = finished_calls(records)
    latency = math.fsum(r.latency_s for r in calls)
    if latency <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - math.fsum(r.exposed_wait_s for r in calls) / latency))


def cache_reuse(calls: Iterable[tuple[int, int | None]]) -> float | None:
    """Prefix-cache reuse = Σ cached tokens / Σ prompt tokens over the calls, given as (prompt, cached), whose
    engine reported cached tokens (cached is not None); None when none did or their prompts were empty."""
    reported = [(p, c) for p, c in calls if c is not None]
    prompt = sum(p for p, _ in reported)
    return sum(c for _, c in reported) / prompt if reported and prompt else None


# --------------------------------------------------------------------------- the engine curve and the kso bound


class EngineCurve(BaseModel):
    """What one agent call costs on an engine with a prefix cache, measured on the user's machine.

    Appending `new_tokens` to a cached prefix of C tokens and decoding `output_tokens` costs
    `append_s + per_cached_s · C` (a least-squares line over a grid of C); each further new token costs
    `per_new_s`, the slope of a full re-prefill's cost in its prompt length P (no cache, same output).
    """

    model: str
    threads: int | None  # CPU threads of the embedded server; None: a URL
    new_tokens: int  # T
    output_tokens: int  # D
    append_s: float  # a
    per_cached_s: float  # b
    per_new_s: float  # p
    prefill_s: float  # intercept of the re-prefill line

    def call_s(self, cached: int, new: int) -> float:
        """Cost of a call with `cached` prompt tokens served from the cache and `new` ones computed:
        a + b·C + p·(N − T)."""
        return self.append_s + self.per_cached_s * cached + self.per_new_s * (new - self.new_tokens)

    def prefill_call_s(self, prompt: int) -> float:
        """A full re-prefill of a `prompt`-token prompt (no cache), as measured: prefill_s + p·P."""
        return self.prefill_s + self.per_new_s * prompt


class HorizonShape(BaseModel):
    """A trajectory reduced to what the bound needs, in tokens: the pinned head (system prompt and task), what a
    step adds to the history (reply + observation), the summary, and the tool time per step."""

    head_tokens: int
    step_tokens: int
    summary_tokens: int
    tool_s: float = 0.0


def bound_costs(curve: EngineCurve, shape: HorizonShape, steps: int, k: int, baseline: EngineCurve | None = None,
                ) -> tuple[list[float], list[float]]:
    """Per-step call cost of `full` and of kso with period k and its memory fully hidden: kso's agent under
    `curve`, `full` under `baseline` (default `curve`; on equal hardware, the curve of every core where kso's
    agent has its share).

    H, g, S: head, step and summary tokens. full at step t >= 1 appends g to its cached history H + (t-1)g. kso
    launches at n > 0 with (n + 1) % k == 0 (docs/method.md §4) a summary of steps [0, n), installed at n + 1 (fully
    hidden: it is ready then); the install step computes S + g new tokens after the cached pinned head H; until
    the next install kso appends g to H + S + j·g (j steps since the install); before the first install it is full.
    Step 0 (H new tokens) is the same in both.
    """
    H, g, S = shape.head_tokens, shape.step_tokens, shape.summary_tokens
    base = baseline or curve
    full = [base.call_s(0, H)] + [base.call_s(H + (t - 1) * g, g) for t in range(1, steps)]
    kso, installed = [curve.call_s(0, H)], None
    installs = {n + 1 for n in installed_launches(steps, k)}
    for t in range(1, steps):
        if t in installs:
            installed = t
            kso.append(curve.call_s(H, S + g))
        elif installed is not None:
            kso.append(curve.call_s(H + S + (t - installed) * g, g))
        else:
            kso.append(curve.call_s(H + (t - 1) * g, g))
    return full, kso


def kso_bound(curve: EngineCurve, shape: HorizonShape, steps: int, k: int, baseline: EngineCurve | None = None,
              ) -> float:
    """The best end-to-end speedup kso can reach over `full` on this engine in a `steps`-step trajectory:
    S*_bound = Σ_t (c_full(t) + τ) / Σ_t (c_kso(t) + τ), costs from `bound_costs` (memory fully hidden, pinned
    head cached, one agent alone on the engine; `full` on `baseline` where given). No measured kso run can beat
    it; below 1 kso cannot win."""
    full, kso = bound_costs(curve, shape, steps, k, baseline)
    tool = shape.tool_s * steps
    return (math.fsum(full) + tool) / (math.fsum(kso) + tool)


def first_win(bound: Callable[[int], float], max_steps: int = 1000) -> int | None:
    """The fewest steps n at which `bound(n)` (`kso_bound`, `one_engine_bound` at n steps) exceeds 1: where kso can
    first win; None within `max_steps`."""
    return next((n for n in range(1, max_steps + 1) if bound(n) > 1.0), None)


def installed_launches(steps: int, k: int) -> list[int]:
    """The launches n (n > 0, (n + 1) mod k = 0; docs/method.md §4.1) whose summary is installed, at n + 1, within a
    `steps`-step trajectory: the updates a bound counts (a launch at the last step is cancelled unused)."""
    return [n for n in range(1, steps - 1) if (n + 1) % k == 0]


def one_engine_bound(curve: EngineCurve, shape: HorizonShape, steps: int, k: int,
                     memory_input: Literal["from_scratch", "incremental"], template_tokens: tuple[int, int] = (0, 0),
                     ) -> float:
    """kso's best end-to-end speedup over `full` when its memory model runs on the agent's own engine (`memory:
    agent`, docs/method.md §4.6), every call on `curve`.

    A CPU engine is saturated by one call: two calls at once take about as long as one after the other, so each
    update m(n) (`memory_call_s` on the same curve) adds to kso's wall time except where it runs while the agent
    waits on a tool. kso's wall is at least max(Σ_t (c_kso(t) + τ), Σ_t c_kso(t) + Σ_n m(n)) over the updates
    installed within the trajectory, with c_kso from `bound_costs` (each summary installed the step after its
    launch), and S*_one = Σ_t (c_full(t) + τ) / that. With no tool time this is also `sync`'s bound: on one
    saturated engine, overlapping buys nothing. A run can come in slightly under this wall, by what batching the
    memory's decode with the agent's saves (decode on a CPU is bound by memory bandwidth, not compute)."""
    full, kso = bound_costs(curve, shape, steps, k)
    tool = shape.tool_s * steps
    memory = math.fsum(memory_call_s(curve, shape, n, k, memory_input, template_tokens)
                       for n in installed_launches(steps, k))
    agent = math.fsum(kso)
    return (math.fsum(full) + tool) / max(agent + tool, agent + memory)


# --------------------------------------------------------------------------- can the memory call hide?


def last_launch(steps: int, k: int) -> int:
    """The last iteration n <= `steps` at which kso launches a summary with period k: n = steps − (steps + 1) mod k
    (launches at n = k−1, 2k−1, …; docs/method.md §4.1). Not above 0: no launch by then."""
    return steps - (steps + 1) % k


def memory_call_s(curve: EngineCurve, shape: HorizonShape, n: int, k: int,
                  memory_input: Literal["from_scratch", "incremental"], template_tokens: tuple[int, int] = (0, 0),
                  ) -> float:
    """Cost on the memory model's `curve` of the summary launched at iteration n (steps [0, n), docs/method.md §4).

    P = the template's text before the conversation + the pinned head H (the same in every memory prompt), Q = the
    template's text after it (`template_tokens` = (text before, Q)), g, S: step and summary tokens. from_scratch:
    the prompt is P + n·g + Q; the engine's prefix cache still holds the previous update's prompt (launched at
    n − k), whose P + (n − k)·g is a prefix of this one, so C = P + (n − k)·g and N = k·g + Q. incremental: the
    prompt is P + S + k·g + Q (the previous summary and the k steps since); only P is cached (the summary
    changed), so C = P and N = S + k·g + Q. The first launch (n − k <= 0) finds nothing cached and has no summary
    to extend: C = 0, N = P + n·g + Q in both. Cost a + b·C + p·(N − T); the summary's decode is the curve's
    D-token decode, and the memory input's cut observations are taken as whole steps.
    """
    P, Q = template_tokens[0] + shape.head_tokens, template_tokens[1]
    g, S = shape.step_tokens, shape.summary_tokens
    if n - k <= 0:
        return curve.call_s(0, P + n * g + Q)
    if memory_input == "incremental":
        return curve.call_s(P, S + k * g + Q)
    return curve.call_s(P + (n - k) * g, k * g + Q)


def memory_slack_s(curve: EngineCurve, shape: HorizonShape, n: int, k: int) -> float:
    """The time the summary launched at iteration n can take without the agent waiting for it under the `wait`
    policy (docs/method.md §4.2: one agent step): kso's agent call n as `bound_costs` costs it on the agent's
    `curve`, c_kso(n), plus the tool time τ."""
    return bound_costs(curve, shape, n + 1, k)[1][n] + shape.tool_s


# --------------------------------------------------------------------------- model error


def mape(predicted: Sequence[float] | np.ndarray, measured: Sequence[float] | np.ndarray) -> float:
    """Mean absolute percentage error mean_i |p_i - m_i| / m_i over the pairs with m_i > 0 (NaN when none): how
    far a latency model (the roofline fit, the simulator) is from measurements."""
    import numpy as np

    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    keep = m > 0
    return float(np.mean(np.abs(p[keep] - m[keep]) / m[keep])) if keep.any() else float("nan")
