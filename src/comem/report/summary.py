"""Per-arm figures of a run directory (`comem run` or `comem eval`), computed from its files alone.

Step latency is what the agent waits before it can act: the agent model call plus any exposed memory wait.
Speedups are `full` over the arm: mean episode wall time, and mean step latency (Σ latency / Σ steps), paired by
(task, seed) over the episodes both arms finished when there are any, else over each arm's own episodes.
A success is `resolved: true`; an arm with no graded episode has no success rate. Every figure is computed by
`comem.core.metrics` (definitions: docs/metrics.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel

from comem.context.memory import MemorySettings
from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.metrics import (
    BASELINE,
    EpisodeCost,
    exposed_share,
    finished_calls,
    hidden_share,
    mean,
    mean_ci,
    percentile,
    speedups,
)
from comem.core.records import EpisodeStart, MemoryRecord, Step
from comem.eval.results import RESULTS_FILE, EpisodeResult, read_results, trajectory_path
from comem.report.retention import CATEGORIES, VIEWS, kept_calls, score_update, shown_memory, view_memories


@dataclass
class EpisodeData:
    """One finished episode: its result line and what its trajectory recorded."""

    result: EpisodeResult
    steps: list[Step]
    memory: list[MemoryRecord]
    obs_chars: int  # how much of each observation the memory model saw
    task: str = ""  # the pinned task statement (the ledger takes the task's names from it)
    keep_calls: bool = False  # the arm kept summarised steps' calls in the prompt (they count as shown)

    @property
    def step_latencies(self) -> list[float]:
        return [s.latency_s for s in self.steps]

    @property
    def cost(self) -> EpisodeCost:
        return EpisodeCost.of(self.steps, wall_s=self.result.wall_s)


class MemoryStats(BaseModel):
    updates: int  # successful summaries
    failures: int
    superseded: int  # still in flight when the episode ended
    latency_mean_s: float | None  # over finished calls (ok and error)
    hidden_share: float | None  # 1 - Σ exposed wait / Σ latency over finished calls, within [0, 1]
    summary_tokens_mean: float | None  # over updates a model wrote (an extracted ledger or recent view has none)
    compression_mean: float | None  # covered_tokens_est / summary_tokens


class RetentionStats(BaseModel):
    updates: int  # successful updates with at least one identifier in their span
    score: float | None
    by_category: dict[str, float | None]
    found: dict[str, int]  # identifiers found, summed over updates


class ArmReport(BaseModel):
    arm: str
    episodes: int
    graded: int
    resolved: int
    success_rate: float | None
    success_ci: tuple[float, float] | None
    exit_reasons: dict[str, int]
    steps: int
    mean_steps: float
    prompt_tokens: int
    completion_tokens: int
    prompt_tokens_per_step: float | None
    completion_tokens_per_step: float | None
    max_prompt_tokens: int
    wall_mean_s: float
    wall_p50_s: float | None
    wall_p90_s: float | None
    step_latency_mean_s: float | None
    step_latency_p50_s: float | None
    step_latency_p90_s: float | None
    memory_wait_s: float
    exposed_share: float  # X/wall: Σ exposed memory wait / Σ episode wall time
    speedup_wall: float | None = None
    speedup_wall_ci: tuple[float, float] | None = None
    speedup_step: float | None = None
    speedup_step_ci: tuple[float, float] | None = None
    speedup_pairs: int = 0  # episodes paired with the baseline by (task, seed); 0: unpaired
    memory: MemoryStats | None = None
    retention: RetentionStats | None = None


def arm_names(run_dir: Path) -> list[str]:
    """Arms with results: in config.yaml order where it lists them, then the rest by name."""
    found = sorted(p.name for p in run_dir.iterdir() if (p / RESULTS_FILE).is_file())
    order: list[str] = []
    config = run_dir / "config.yaml"
    if config.is_file():
        try:
            arms = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("arms") or []
            order = [a.get("label") or a.get("name") for a in arms if isinstance(a, dict)]
        except (yaml.YAMLError, AttributeError):
            order = []
    return [a for a in order if a in found] + [a for a in found if a not in order]


def load_arm(arm_dir: Path) -> list[EpisodeData]:
    out = []
    for result in read_results(arm_dir / RESULTS_FILE):
        if not result.finished:  # an episode that raised is no result (a rerun retries it)
            continue
        path = trajectory_path(arm_dir, result.instance_id, result.seed)
        records = read_records(path) if path.exists() else []
        start = next((r for r in records if isinstance(r, EpisodeStart)), None)
        strategy = (start.config.get("strategy") or {}) if start else {}
        out.append(EpisodeData(
            result=result, steps=[r for r in records if isinstance(r, Step)],
            memory=[r for r in records if isinstance(r, MemoryRecord)],
            obs_chars=int(strategy.get("memory_obs_chars") or MemorySettings().memory_obs_chars),
            task=start.task_prompt if start else "", keep_calls=bool(strategy.get("keep_calls"))))
    return out


def memory_stats(episodes: list[EpisodeData]) -> MemoryStats | None:
    records = [r for e in episodes for r in e.memory]
    if not records:
        return None
    ok = [r for r in records if r.status == "ok"]
    return MemoryStats(
        updates=len(ok), failures=sum(r.status == "error" for r in records),
        superseded=sum(r.status == "superseded" for r in records),
        latency_mean_s=mean(r.latency_s for r in finished_calls(records)), hidden_share=hidden_share(records),
        summary_tokens_mean=mean(r.summary_tokens for r in ok if r.summary_tokens),
        compression_mean=mean(r.covered_tokens_est / r.summary_tokens for r in ok if r.summary_tokens),
    )


def retention_stats(episodes: list[EpisodeData], view: str | None = None,
                    ledger_tokens: int = MemorySettings().ledger_tokens) -> RetentionStats | None:
    """Retention of what the agent was shown, or (`view`) of what a view would have shown for the same spans; the
    calls a `keep_calls` arm kept count as shown either way."""

    def memory(e: EpisodeData, r: MemoryRecord) -> str:
        text = shown_memory(r) if view is None else view_memories(r, e.steps, e.task, ledger_tokens)[view]
        return text + "\n" + kept_calls(r, e.steps) if e.keep_calls else text

    scored = [score_update(r, e.steps, e.obs_chars, memory(e, r)) for e in episodes for r in e.memory
              if r.status == "ok"]
    scored = [u for u in scored if u.score is not None]
    if not scored:
        return None
    return RetentionStats(
        updates=len(scored), score=mean(u.score for u in scored if u.score is not None),
        by_category={c: mean(s for u in scored if (s := u.category_score(c)) is not None) for c in CATEGORIES},
        found={c: sum(u.found[c] for u in scored) for c in CATEGORIES},
    )


def summarise_arm(name: str, episodes: list[EpisodeData], seed: int = 0) -> ArmReport:
    results = [e.result for e in episodes]
    steps = [s for e in episodes for s in e.steps]
    latencies = [x for e in episodes for x in e.step_latencies]
    walls = [r.wall_s for r in results]
    graded = [r for r in results if r.resolved is not None]
    success = mean_ci([float(r.resolved is True) for r in results], seed=seed) if graded else None
    memory_wait = sum(r.memory_wait_s for r in results)
    prompt, completion = sum(s.prompt_tokens for s in steps), sum(s.completion_tokens for s in steps)
    return ArmReport(
        arm=name, episodes=len(results), graded=len(graded), resolved=sum(r.resolved is True for r in results),
        success_rate=success.value if success else None, success_ci=success.bounds if success else None,
        exit_reasons=dict(Counter(r.exit_reason for r in results)), steps=sum(r.steps for r in results),
        mean_steps=mean(r.steps for r in results) or 0.0,
        prompt_tokens=prompt, completion_tokens=completion,
        prompt_tokens_per_step=prompt / len(steps) if steps else None,
        completion_tokens_per_step=completion / len(steps) if steps else None,
        max_prompt_tokens=max((r.max_prompt_tokens for r in results), default=0),
        wall_mean_s=mean(walls) or 0.0, wall_p50_s=percentile(walls, 50),
        wall_p90_s=percentile(walls, 90), step_latency_mean_s=mean(latencies),
        step_latency_p50_s=percentile(latencies, 50), step_latency_p90_s=percentile(latencies, 90),
        memory_wait_s=memory_wait, exposed_share=exposed_share(memory_wait, sum(walls)),
        memory=memory_stats(episodes), retention=retention_stats(episodes),
    )


def add_speedups(row: ArmReport, base: list[EpisodeData], other: list[EpisodeData], seed: int = 0) -> None:
    """Baseline over this arm, paired by (task, seed) when the two arms share episodes."""
    s = speedups({e.result.key: e.cost for e in base}, {e.result.key: e.cost for e in other}, seed=seed)
    row.speedup_pairs = s.pairs
    if s.e2e:
        row.speedup_wall, row.speedup_wall_ci = s.e2e.value, s.e2e.bounds
    if s.step:
        row.speedup_step, row.speedup_step_ci = s.step.value, s.step.bounds


def summarise(run_dir: Path, seed: int = 0) -> list[ArmReport]:
    """Every arm of `run_dir` with its figures; speedups against the `full` arm when there is one."""
    if not run_dir.is_dir():
        raise ComemError(f"{run_dir} is not a directory.", fix="pass a directory written by `comem run` or "
                                                                 "`comem eval`.")
    data = {name: load_arm(run_dir / name) for name in arm_names(run_dir)}
    rows = [summarise_arm(name, episodes, seed) for name, episodes in data.items() if episodes]
    if BASELINE in data and data[BASELINE]:
        for row in rows:
            add_speedups(row, data[BASELINE], data[row.arm], seed)
    return rows


class ViewRetention(BaseModel):
    """One arm's updates scored under one memory view (`comem report --views`)."""

    arm: str
    view: str
    retention: RetentionStats | None


def retention_by_view(run_dir: Path, ledger_tokens: int = MemorySettings().ledger_tokens) -> list[ViewRetention]:
    """Every memory arm's successful updates under each view: the recorded summary, the ledger of the same steps
    (extracted now; a recorded ledger as it was shown), and both."""
    if not run_dir.is_dir():
        raise ComemError(f"{run_dir} is not a directory.", fix="pass a directory written by `comem run` or "
                                                                 "`comem eval`.")
    rows = []
    for name in arm_names(run_dir):
        episodes = load_arm(run_dir / name)
        if any(r.status == "ok" for e in episodes for r in e.memory):
            # A recent arm's recorded text is its recent view, not a summary: label the row by what it holds.
            recent = all(r.view == "recent" for e in episodes for r in e.memory if r.status == "ok")
            rows += [ViewRetention(arm=name, view="recent" if recent and view == "summary" else view,
                                   retention=retention_stats(episodes, view, ledger_tokens)) for view in VIEWS]
    return rows
