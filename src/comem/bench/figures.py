"""The replay's and the simulator's per-arm figures, from their rows; every number is computed by
`comem.core.metrics` (formulas: docs/metrics.md).

An arm at one concurrency is compared with the baseline (`full`) at the same concurrency, episode by episode:
an episode is one (repeat, agent, trajectory), and both arms replay the same ones. T = memory wait X + agent call
per step (`StepTiming.latency_s`), τ the tool time.

A replay also holds twin runs that are not arms of their own (`comem.bench.replay.arms`): `<arm>@instant-memory`,
whose agent calls give the arm's S*, and `full@agent-cores`, the baseline of the "memory on extra hardware" figure.
`replay_figures` sets them where they belong.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, computed_field

from comem.bench.records import MemoryRow, StepRow
from comem.core.metrics import (
    BASELINE,
    EpisodeCost,
    cache_reuse,
    efficiency,
    exposed_share,
    finished_calls,
    hidden_share,
    ideal_speedup,
    paired,
    peak_step_ratio,
    percentile,
    span_s,
    speedups,
)

INSTANT = "@instant-memory"  # suffix of an arm's instant-memory twin
AGENT_CORES = "@agent-cores"  # suffix of the baseline confined to a memory arm's agent cores


class ArmFigures(BaseModel):
    """One arm at one concurrency, on its own and against the baseline."""

    arm: str
    concurrency: int
    steps: int
    step_median_s: float  # T
    step_mean_s: float
    step_p90_s: float
    ttft_median_s: float
    decode_median_s: float
    prompt_median_tokens: float
    prompt_mean_tokens: float
    wall_s: float  # Σ over episodes of their span (first start -> last tool end)
    exposed_s: float  # Σ X
    tool_s: float
    cache_reuse: float | None  # Σ cached / Σ prompt tokens, where the engine reports cached tokens
    pairs: int = 0  # episodes paired with the baseline's; 0: none shared, each arm's own were compared
    s_step: float | None = None  # ratio of mean step latency, baseline / arm
    s_step_ci: tuple[float, float] | None = None  # 95% bootstrap interval over episodes
    s_step_peak: float | None = None
    s_step_peak_at: int | None = None
    s_e2e: float | None = None
    s_e2e_ci: tuple[float, float] | None = None
    s_star: float | None = None
    s_star_same_run: bool = False  # a memory arm's S* from its own run (no instant-memory twin ran): an upper estimate

    @computed_field
    @property
    def eta(self) -> float | None:
        return efficiency(self.s_e2e, self.s_star)

    @computed_field
    @property
    def exposed_share(self) -> float:
        return exposed_share(self.exposed_s, self.wall_s)


def episodes(rows: Iterable[StepRow]) -> dict[tuple[int, int, str], list[StepRow]]:
    """Rows by episode (repeat, agent, trajectory)."""
    out: dict[tuple[int, int, str], list[StepRow]] = defaultdict(list)
    for r in rows:
        out[r.episode].append(r)
    return out


def trajectory_walls(rows: Iterable[StepRow]) -> dict[tuple[int, int, str], float]:
    """Wall time per episode (repeat, agent, trajectory): `span_s` of its steps."""
    return {key: span_s(steps) for key, steps in episodes(rows).items()}


def _costs(rows: Iterable[StepRow]) -> dict[tuple[int, int, str], EpisodeCost]:
    return {k: EpisodeCost.of(v) for k, v in episodes(rows).items()}


def _by_step(rows: Iterable[StepRow]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        out[r.step].append(r.latency_s)
    return out


def _own(arm: str, concurrency: int, rows: list[StepRow]) -> ArmFigures:
    latencies = [r.latency_s for r in rows]
    return ArmFigures(
        arm=arm, concurrency=concurrency, steps=len(rows), step_median_s=statistics.median(latencies),
        step_mean_s=statistics.fmean(latencies), step_p90_s=percentile(latencies, 90) or 0.0,
        ttft_median_s=statistics.median(r.agent_ttft_s for r in rows),
        decode_median_s=statistics.median(r.decode_s for r in rows),
        prompt_median_tokens=statistics.median(r.prompt_tokens for r in rows),
        prompt_mean_tokens=statistics.fmean(r.prompt_tokens for r in rows),
        wall_s=sum(trajectory_walls(rows).values()), exposed_s=sum(r.memory_wait_s for r in rows),
        tool_s=sum(r.tool_s for r in rows), cache_reuse=cache_reuse((r.prompt_tokens, r.cached_tokens) for r in rows),
    )


def figures(rows: Iterable[StepRow], baseline: str = BASELINE, seed: int = 0) -> list[ArmFigures]:
    """One ArmFigures per (arm, concurrency), with speedups against `baseline` where it ran at that concurrency."""
    groups: dict[tuple[str, int], list[StepRow]] = defaultdict(list)
    for r in rows:
        groups[(r.arm, r.concurrency)].append(r)
    out = []
    for (arm, concurrency), group in groups.items():
        fig = _own(arm, concurrency, group)
        base = groups.get((baseline, concurrency))
        if base:
            s = speedups(_costs(base), _costs(group), seed=seed)
            # an arm that installed summaries had memory work to hide: its own calls give too high an S*
            installed = any(r.summary_id is not None for r in group)
            fig.pairs, fig.s_star, fig.s_star_same_run = s.pairs, s.ideal, arm != baseline and installed
            if s.step:
                fig.s_step, fig.s_step_ci = s.step.value, s.step.bounds
            if s.e2e:
                fig.s_e2e, fig.s_e2e_ci = s.e2e.value, s.e2e.bounds
            # only step indices every episode of both arms reached: the tails of a few long trajectories are
            # noisy ratios, and a maximum over them is biased upward (docs/metrics.md)
            reached_by_all = max(len(episodes(base)), len(episodes(group)))
            peak = peak_step_ratio(_by_step(base), _by_step(group), min_agents=reached_by_all)
            if peak is not None:
                fig.s_step_peak, fig.s_step_peak_at = peak
        out.append(fig)
    return sorted(out, key=lambda f: (f.concurrency, f.arm != baseline, f.arm))


def replay_figures(rows: Iterable[StepRow], baseline: str = BASELINE, seed: int = 0) -> list[ArmFigures]:
    """`figures` of the measured arms against `baseline`, twins left out (the baseline may be one); a memory arm's
    S* comes from its instant-memory twin where that ran: in its own run, agents waiting on memory lighten the
    engine, so an S* from it is too high (docs/metrics.md)."""
    rows = list(rows)
    measured = [r for r in rows if r.arm == baseline or not (r.arm.endswith(INSTANT) or r.arm.endswith(AGENT_CORES))]
    out = figures(measured, baseline, seed)
    for fig in out:
        twin = [r for r in rows if r.arm == fig.arm + INSTANT and r.concurrency == fig.concurrency]
        base = [r for r in rows if r.arm == baseline and r.concurrency == fig.concurrency]
        if twin and base:
            b, o, _ = paired(_costs(base), _costs(twin))
            fig.s_star, fig.s_star_same_run = ideal_speedup(b, o), False
    return out


class MemoryFigures(BaseModel):
    """The memory model's side of one arm at one concurrency: is each update done within its slack?"""

    arm: str
    concurrency: int
    updates: int  # finished calls (ok or error); superseded ones never finished
    latency_median_s: float
    input_median_tokens: float
    cache_reuse: float | None  # Σ cached / Σ input tokens on the memory engine, where it reports them
    hidden_share: float | None  # `comem.core.metrics.hidden_share`: the share of memory time the agent did not wait for


def memory_figures(rows: Iterable[MemoryRow]) -> list[MemoryFigures]:
    groups: dict[tuple[str, int], list[MemoryRow]] = defaultdict(list)
    for r in finished_calls(rows):
        groups[(r.arm, r.concurrency)].append(r)
    out = []
    for (arm, concurrency), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        out.append(MemoryFigures(
            arm=arm, concurrency=concurrency, updates=len(group),
            latency_median_s=statistics.median(r.latency_s for r in group),
            input_median_tokens=statistics.median(r.input_tokens for r in group),
            cache_reuse=cache_reuse((r.input_tokens, r.cached_tokens) for r in group),
            hidden_share=hidden_share(group),
        ))
    return out
