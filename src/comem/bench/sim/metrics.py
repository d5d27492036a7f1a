"""Speedup metrics of PERFORMANCE §5.0, computed from `StepTiming` rows alone (replay or simulation alike).

For agent a and step t: T = memory wait + agent call (request sent -> last token), tau = tool time.
- S_step: median T of the baseline over median T of the arm.
- S_step_peak: the largest ratio, over step indices, of the mean T across agents (the paper's "peak per-step").
- S_e2e: summed trajectory wall time (first iteration start -> last tool end) of the baseline over the arm's.
- S*: the ideal-pipeline bound, sum(T_base + tau) / sum(T_arm without memory wait + tau).
- eta = S_e2e / S*; exposed = sum of memory waits / summed wall time.
Rows are grouped by (concurrency, arm); each arm is compared with the baseline arm at the same concurrency.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from comem.bench.records import StepTiming

BASELINE = "full"


def step_latency(row: StepTiming) -> float:
    """T: what the agent waits for per step, memory wait included, tool time excluded."""
    return row.memory_wait_s + row.total_s


def trajectory_walls(rows: Iterable[StepTiming]) -> dict[tuple[int, int, str], float]:
    """Wall time per (repeat, agent, trajectory): first iteration start to the end of the last tool call."""
    first: dict[tuple[int, int, str], float] = {}
    last: dict[tuple[int, int, str], float] = {}
    for r in rows:
        key = (r.repeat, r.agent, r.trajectory)
        first[key] = min(first.get(key, r.started_s), r.started_s)
        last[key] = max(last.get(key, r.finished_s + r.tool_s), r.finished_s + r.tool_s)
    return {key: last[key] - first[key] for key in first}


class ArmSummary(BaseModel):
    """One arm at one concurrency, on its own and against the baseline."""

    arm: str
    concurrency: int
    steps: int
    median_step_s: float
    mean_step_s: float
    wall_s: float  # summed trajectory wall time
    exposed_share: float
    hit_rate: float | None  # cached / prompt tokens, where the engine reported cached tokens
    prompt_tokens_mean: float
    s_step: float | None = None
    s_step_peak: float | None = None
    s_step_peak_at: int | None = None
    s_e2e: float | None = None
    s_star: float | None = None
    eta: float | None = None


def _own(arm: str, concurrency: int, rows: list[StepTiming]) -> ArmSummary:
    walls = trajectory_walls(rows)
    wall = sum(walls.values())
    latencies = [step_latency(r) for r in rows]
    cached = [r for r in rows if r.cached_tokens is not None]
    prompt = sum(r.prompt_tokens for r in cached)
    return ArmSummary(
        arm=arm, concurrency=concurrency, steps=len(rows), median_step_s=statistics.median(latencies),
        mean_step_s=statistics.fmean(latencies), wall_s=wall,
        exposed_share=sum(r.memory_wait_s for r in rows) / wall if wall > 0 else 0.0,
        hit_rate=sum(r.cached_tokens or 0 for r in cached) / prompt if prompt else None,
        prompt_tokens_mean=statistics.fmean(r.prompt_tokens for r in rows),
    )


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def peak_step_ratio(base: list[StepTiming], arm: list[StepTiming], min_agents: int = 1) -> tuple[float, int] | None:
    """max over step index t of mean_t(T_base) / mean_t(T_arm), over indices with >= min_agents rows in both."""
    by_step: dict[str, dict[int, list[float]]] = {"b": defaultdict(list), "a": defaultdict(list)}
    for tag, rows in (("b", base), ("a", arm)):
        for r in rows:
            by_step[tag][r.step].append(step_latency(r))
    best: tuple[float, int] | None = None
    for t, xs in by_step["b"].items():
        ys = by_step["a"].get(t)
        if not ys or len(xs) < min_agents or len(ys) < min_agents:
            continue
        ratio = _ratio(statistics.fmean(xs), statistics.fmean(ys))
        if ratio is not None and (best is None or ratio > best[0]):
            best = (ratio, t)
    return best


def summarize(rows: Iterable[StepTiming], baseline: str = BASELINE) -> list[ArmSummary]:
    """Per (concurrency, arm): own figures, and speedups against `baseline` at the same concurrency if present."""
    groups: dict[tuple[int, str], list[StepTiming]] = defaultdict(list)
    for r in rows:
        groups[(r.concurrency, r.arm)].append(r)
    out = []
    for (conc, arm), group in sorted(groups.items()):
        summary = _own(arm, conc, group)
        base = groups.get((conc, baseline))
        if base is not None:
            b = _own(baseline, conc, base)
            summary.s_step = _ratio(b.median_step_s, summary.median_step_s)
            peak = peak_step_ratio(base, group, min_agents=max(1, min(3, conc // 2)))
            if peak is not None:
                summary.s_step_peak, summary.s_step_peak_at = peak
            summary.s_e2e = _ratio(b.wall_s, summary.wall_s)
            ideal = sum(r.total_s + r.tool_s for r in group)
            summary.s_star = _ratio(sum(step_latency(r) + r.tool_s for r in base), ideal)
            if summary.s_e2e is not None and summary.s_star:
                summary.eta = summary.s_e2e / summary.s_star
        out.append(summary)
    return out
