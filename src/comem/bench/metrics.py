"""Speedup figures from per-step timings, the same for replayed and simulated runs (PERFORMANCE.md §5.0).

For an arm against the baseline (`full`) at the same concurrency, with T the agent call, τ the tool time
and X the exposed memory wait of each step:
- S_step = median T_full / median T_arm (per-step latency ratio);
- S_e2e  = Σ trajectory wall (full) / Σ trajectory wall (arm), walls as measured, so X and overheads count;
- S*     = Σ(T_full + τ) / Σ(T_arm + τ), the ideal bound if memory work were perfectly hidden;
- η      = S_e2e / S*, the pipeline efficiency ("close to the limit": η ≥ 0.9 and ΣX / wall ≤ 5%).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from comem.bench.records import StepTiming


class ArmFigures(BaseModel):
    arm: str
    concurrency: int
    steps: int
    step_median_s: float
    step_p90_s: float
    ttft_median_s: float
    decode_median_s: float
    prompt_median_tokens: float
    wall_s: float  # Σ over trajectories of (last finish - first start)
    exposed_s: float  # Σ X
    tool_s: float
    cache_reuse: float | None  # Σ cached / Σ prompt tokens, where the engine reports cached tokens
    s_step: float | None = None
    s_e2e: float | None = None
    s_star: float | None = None

    @property
    def eta(self) -> float | None:
        return None if self.s_e2e is None or not self.s_star else self.s_e2e / self.s_star

    @property
    def exposed_share(self) -> float:
        return self.exposed_s / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; fine for reporting, and exact on small samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def trajectory_walls(rows: Iterable[StepTiming]) -> list[float]:
    spans: dict[tuple[int, int, str], list[float]] = defaultdict(lambda: [float("inf"), float("-inf")])
    for r in rows:
        span = spans[(r.repeat, r.agent, r.trajectory)]
        span[0], span[1] = min(span[0], r.started_s), max(span[1], r.finished_s)
    return [end - start for start, end in spans.values()]


def _figures(arm: str, concurrency: int, rows: list[StepTiming]) -> ArmFigures:
    totals = [r.total_s for r in rows]
    reported = [r for r in rows if r.cached_tokens is not None]
    prompt = sum(r.prompt_tokens for r in reported)
    return ArmFigures(
        arm=arm, concurrency=concurrency, steps=len(rows), step_median_s=statistics.median(totals),
        step_p90_s=percentile(totals, 0.9), ttft_median_s=statistics.median(r.ttft_s for r in rows),
        decode_median_s=statistics.median(r.decode_s for r in rows),
        prompt_median_tokens=statistics.median(r.prompt_tokens for r in rows),
        wall_s=sum(trajectory_walls(rows)), exposed_s=sum(r.memory_wait_s for r in rows),
        tool_s=sum(r.tool_s for r in rows),
        cache_reuse=sum(r.cached_tokens or 0 for r in reported) / prompt if reported and prompt else None,
    )


def figures(rows: Iterable[StepTiming], baseline: str = "full") -> list[ArmFigures]:
    """One ArmFigures per (arm, concurrency), with speedups against `baseline` where it was run."""
    groups: dict[tuple[str, int], list[StepTiming]] = defaultdict(list)
    for r in rows:
        groups[(r.arm, r.concurrency)].append(r)
    out = []
    for (arm, concurrency), group in groups.items():
        fig = _figures(arm, concurrency, group)
        base = groups.get((baseline, concurrency))
        if base:
            ideal_arm = sum(r.total_s + r.tool_s for r in group)
            fig.s_step = statistics.median(r.total_s for r in base) / fig.step_median_s
            fig.s_e2e = sum(trajectory_walls(base)) / fig.wall_s if fig.wall_s > 0 else None
            fig.s_star = sum(r.total_s + r.tool_s for r in base) / ideal_arm if ideal_arm > 0 else None
        out.append(fig)
    return sorted(out, key=lambda f: (f.concurrency, f.arm != baseline, f.arm))
