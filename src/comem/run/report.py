"""The per-arm table of `comem run`, computed from a run directory's files (so it can be re-rendered).

Step latency is what the agent waits before it can act: exposed memory wait + the agent model call.
Speedups are ratios against the arm labelled `full` (step latency; end-to-end = summed episode wall time).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from pydantic import BaseModel
from rich.table import Table

from comem.agent.trajectory import EpisodeEnd, Step, read_records
from comem.tables import markdown_table, rich_table


class ArmSummary(BaseModel):
    arm: str
    episodes: int
    resolved: int
    success_rate: float
    mean_steps: float
    step_latency_mean_s: float
    step_latency_p90_s: float
    memory_wait_s: float
    e2e_s: float
    max_prompt_tokens: int
    memory_updates: int
    speedup_step: float | None = None
    speedup_e2e: float | None = None


def p90(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summarise_arm(arm_dir: Path) -> ArmSummary | None:
    results = arm_dir / "results.jsonl"
    if not results.exists():
        return None
    ends = [EpisodeEnd.model_validate_json(line) for line in results.read_text().splitlines() if line.strip()]
    if not ends:
        return None
    latencies: list[float] = []
    for end in ends:
        path = arm_dir / "trajectories" / f"{end.instance_id}.jsonl"
        if path.exists():
            latencies += [r.agent_total_s + r.memory_wait_s for r in read_records(path) if isinstance(r, Step)]
    resolved = sum(bool(e.resolved) for e in ends)
    return ArmSummary(
        arm=arm_dir.name, episodes=len(ends), resolved=resolved, success_rate=resolved / len(ends),
        mean_steps=statistics.fmean(e.steps for e in ends),
        step_latency_mean_s=statistics.fmean(latencies) if latencies else 0.0, step_latency_p90_s=p90(latencies),
        memory_wait_s=sum(e.memory_wait_s for e in ends), e2e_s=sum(e.wall_s for e in ends),
        max_prompt_tokens=max(e.max_prompt_tokens for e in ends), memory_updates=sum(e.memory_updates for e in ends),
    )


def summarise(run_dir: Path, arm_order: list[str] | None = None) -> list[ArmSummary]:
    names = arm_order or sorted(p.name for p in run_dir.iterdir() if (p / "results.jsonl").exists())
    rows = [row for name in names if (row := summarise_arm(run_dir / name)) is not None]
    base = next((r for r in rows if r.arm == "full"), None)
    for row in rows:
        if base is not None:
            row.speedup_step = base.step_latency_mean_s / row.step_latency_mean_s if row.step_latency_mean_s else None
            row.speedup_e2e = base.e2e_s / row.e2e_s if row.e2e_s else None
    return rows


COLUMNS = [  # (header, field); headers are short so the table fits an 80-column terminal
    ("arm", "arm"), ("solved", "success"), ("steps", "mean_steps"), ("lat s", "step_latency_mean_s"),
    ("p90 s", "step_latency_p90_s"), ("wait s", "memory_wait_s"), ("e2e s", "e2e_s"),
    ("max tok", "max_prompt_tokens"), ("mem", "memory_updates"), ("x/step", "speedup_step"), ("x e2e", "speedup_e2e"),
]
LEGEND = ("solved: resolved/episodes · steps: mean per episode · lat/p90: agent latency per step (model call + "
          "exposed memory wait) · wait: total exposed memory wait · e2e: summed episode wall time · max tok: "
          "largest agent prompt · mem: memory updates · x/step, x e2e: speedup vs full")


def cells(row: ArmSummary) -> list[str]:
    def fmt(key: str) -> str:
        if key == "success":
            return f"{row.resolved}/{row.episodes}"
        value = getattr(row, key)
        if value is None:
            return "-"
        if key.startswith("speedup"):
            return f"{value:.2f}x"
        if isinstance(value, float):
            return f"{value:.1f}" if key in ("mean_steps", "e2e_s", "memory_wait_s") else f"{value:.2f}"
        return str(value)

    return [fmt(key) for _, key in COLUMNS]


def to_table(rows: list[ArmSummary]) -> Table:
    return rich_table("comem run", [t for t, _ in COLUMNS], [cells(r) for r in rows], LEGEND)


def to_markdown(rows: list[ArmSummary]) -> str:
    return markdown_table([t for t, _ in COLUMNS], [cells(r) for r in rows], LEGEND)


def write_summary(run_dir: Path, rows: list[ArmSummary]) -> None:
    (run_dir / "summary.json").write_text(json.dumps([r.model_dump() for r in rows], indent=2))
    (run_dir / "summary.md").write_text(to_markdown(rows))
