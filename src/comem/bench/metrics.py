"""Speedup figures from per-step timings, one definition for replayed and simulated runs (PERFORMANCE §5.0).

For an arm against the baseline (`full`) at the same concurrency, with T = memory wait X + agent call per step
(`StepTiming.latency_s`) and τ the tool time:
- S_step      = median T_full / median T_arm;
- S_step_peak = the largest ratio, over step indices, of the mean T across agents (the paper's "peak per-step");
- S_e2e       = Σ trajectory wall (full) / Σ trajectory wall (arm), walls as measured (first start to last tool
                end), so X and overheads count;
- S*          = Σ(T_full + τ) / Σ(call_arm + τ), the ideal bound if memory work were perfectly hidden;
- η           = S_e2e / S*, the pipeline efficiency ("close to the limit": η ≥ 0.9 and ΣX / wall ≤ 5%).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, computed_field

from comem.bench.records import MemoryTiming, StepTiming

BASELINE = "full"


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
    wall_s: float  # Σ over trajectories of (first start -> last tool end)
    exposed_s: float  # Σ X
    tool_s: float
    cache_reuse: float | None  # Σ cached / Σ prompt tokens, where the engine reports cached tokens
    s_step: float | None = None
    s_step_peak: float | None = None
    s_step_peak_at: int | None = None
    s_e2e: float | None = None
    s_star: float | None = None

    @computed_field
    @property
    def eta(self) -> float | None:
        return None if self.s_e2e is None or not self.s_star else self.s_e2e / self.s_star

    @computed_field
    @property
    def exposed_share(self) -> float:
        return self.exposed_s / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; fine for reporting, and exact on small samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def trajectory_walls(rows: Iterable[StepTiming]) -> dict[tuple[int, int, str], float]:
    """Wall time per (repeat, agent, trajectory): first iteration start to the end of the last tool call."""
    spans: dict[tuple[int, int, str], list[float]] = defaultdict(lambda: [float("inf"), float("-inf")])
    for r in rows:
        span = spans[(r.repeat, r.agent, r.trajectory)]
        span[0], span[1] = min(span[0], r.started_s), max(span[1], r.finished_s)
    return {key: end - start for key, (start, end) in spans.items()}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def peak_step_ratio(base: list[StepTiming], arm: list[StepTiming], min_agents: int = 1) -> tuple[float, int] | None:
    """max over step index t of mean_t(T_base) / mean_t(T_arm), over indices with >= min_agents rows in both."""
    by_step: dict[str, dict[int, list[float]]] = {"b": defaultdict(list), "a": defaultdict(list)}
    for tag, rows in (("b", base), ("a", arm)):
        for r in rows:
            by_step[tag][r.step].append(r.latency_s)
    best: tuple[float, int] | None = None
    for t, xs in by_step["b"].items():
        ys = by_step["a"].get(t)
        if not ys or len(xs) < min_agents or len(ys) < min_agents:
            continue
        ratio = _ratio(statistics.fmean(xs), statistics.fmean(ys))
        if ratio is not None and (best is None or ratio > best[0]):
            best = (ratio, t)
    return best


def _own(arm: str, concurrency: int, rows: list[StepTiming]) -> ArmFigures:
    latencies = [r.latency_s for r in rows]
    reported = [r for r in rows if r.cached_tokens is not None]
    prompt = sum(r.prompt_tokens for r in reported)
    return ArmFigures(
        arm=arm, concurrency=concurrency, steps=len(rows), step_median_s=statistics.median(latencies),
        step_mean_s=statistics.fmean(latencies), step_p90_s=percentile(latencies, 0.9),
        ttft_median_s=statistics.median(r.ttft_s for r in rows),
        decode_median_s=statistics.median(r.decode_s for r in rows),
        prompt_median_tokens=statistics.median(r.prompt_tokens for r in rows),
        prompt_mean_tokens=statistics.fmean(r.prompt_tokens for r in rows),
        wall_s=sum(trajectory_walls(rows).values()), exposed_s=sum(r.memory_wait_s for r in rows),
        tool_s=sum(r.tool_s for r in rows),
        cache_reuse=sum(r.cached_tokens or 0 for r in reported) / prompt if reported and prompt else None,
    )


def figures(rows: Iterable[StepTiming], baseline: str = BASELINE) -> list[ArmFigures]:
    """One ArmFigures per (arm, concurrency), with speedups against `baseline` where it ran at that concurrency."""
    groups: dict[tuple[str, int], list[StepTiming]] = defaultdict(list)
    for r in rows:
        groups[(r.arm, r.concurrency)].append(r)
    out = []
    for (arm, concurrency), group in groups.items():
        fig = _own(arm, concurrency, group)
        base = groups.get((baseline, concurrency))
        if base:
            own_base = _own(baseline, concurrency, base)
            fig.s_step = _ratio(own_base.step_median_s, fig.step_median_s)
            peak = peak_step_ratio(base, group, min_agents=max(1, min(3, concurrency // 2)))
            if peak is not None:
                fig.s_step_peak, fig.s_step_peak_at = peak
            fig.s_e2e = _ratio(own_base.wall_s, fig.wall_s)
            fig.s_star = _ratio(sum(r.latency_s + r.tool_s for r in base), sum(r.total_s + r.tool_s for r in group))
        out.append(fig)
    return sorted(out, key=lambda f: (f.concurrency, f.arm != baseline, f.arm))


class MemoryFigures(BaseModel):
    """The memory model's side of one arm at one concurrency: is each update done within its slack?"""

    arm: str
    concurrency: int
    updates: int  # finished calls (ok or error); superseded ones never finished
    latency_median_s: float
    input_median_tokens: float
    cache_reuse: float | None  # Σ cached / Σ input tokens on the memory engine, where it reports them
    hidden_share: float  # 1 − Σ exposed wait / Σ latency: the share of memory time the agent did not wait for


def memory_figures(rows: Iterable[MemoryTiming]) -> list[MemoryFigures]:
    groups: dict[tuple[str, int], list[MemoryTiming]] = defaultdict(list)
    for r in rows:
        if r.finished_s is not None and r.status in ("ok", "error"):
            groups[(r.arm, r.concurrency)].append(r)
    out = []
    for (arm, concurrency), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        latencies = [r.finished_s - r.launched_s for r in group]
        reported = [r for r in group if r.cached_tokens is not None]
        inputs = sum(r.input_tokens for r in reported)
        out.append(MemoryFigures(
            arm=arm, concurrency=concurrency, updates=len(group), latency_median_s=statistics.median(latencies),
            input_median_tokens=statistics.median(r.input_tokens for r in group),
            cache_reuse=sum(r.cached_tokens or 0 for r in reported) / inputs if reported and inputs else None,
            hidden_share=_hidden(sum(r.exposed_wait_s for r in group), sum(latencies)),
        ))
    return out


def _hidden(exposed: float, latency: float) -> float:
    """1 − exposed / latency, within [0, 1]: a wait measured by the agent's clock can overrun the call by µs."""
    return min(1.0, max(0.0, 1 - exposed / latency)) if latency > 0 else 1.0
