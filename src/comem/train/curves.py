"""Training curves from runs' metrics.jsonl, without W&B: one metric per run, runs chained as stages.

A memory adapter is often trained in stages, each run continuing the last one's adapter (`--init-adapter`), so
the curve a reader wants is the stages end to end: step numbers continue across runs, and each run's stretch is
labelled with its directory. `comem train curves` prints each stage's means over windows of steps and draws the
chained curve (matplotlib, in the `bench` extra). Reads JSON only: no torch, no TRL.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comem.core.errors import ComemError

METRICS = "metrics.jsonl"
DEFAULT_METRIC = {"sft": "loss", "grpo": "reward"}  # by train.json's kind: what each trainer reports as its curve


def read_curve(path: Path, metric: str) -> list[float]:
    """One metric's values, in step order, from metrics.jsonl (the final summary line has none and is skipped)."""
    return _values(_rows(path), metric) if path.is_file() else []


def _rows(path: Path) -> list[dict]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError as err:
        raise ComemError(f"{path} is not JSON lines ({err}).", fix="name a run's own metrics.jsonl, unedited.") \
            from None
    return [row for row in rows if isinstance(row, dict)]


def _values(rows: list[dict], metric: str) -> list[float]:
    return [float(row[metric]) for row in rows if isinstance(row.get(metric), int | float)]


@dataclass(frozen=True)
class Stage:
    """One training run's stretch of the chained curve."""

    name: str
    metric: str
    values: list[float]

    def window_means(self, every: int) -> list[float]:
        """Means of each `every` logged steps (the last window may be shorter)."""
        chunks = (self.values[i:i + every] for i in range(0, len(self.values), every))
        return [sum(chunk) / len(chunk) for chunk in chunks]


def read_stage(run: Path, metric: str | None = None) -> Stage:
    """A run directory of `comem train sft|grpo` as a stage; `metric` defaults to its trainer's curve."""
    path = run / METRICS
    if not path.is_file():
        raise ComemError(f"{run} has no {METRICS}.",
                         fix="name the --out directory of a `comem train sft` or `comem train grpo` run.")
    rows = _rows(path)
    chosen = metric or DEFAULT_METRIC.get(_kind(run), "loss")
    values = _values(rows, chosen)
    if not values:
        logged = sorted({key for row in rows for key, value in row.items()
                         if isinstance(value, int | float) and key != "step"})
        raise ComemError(f"{path} logs no {chosen!r}.",
                         fix=f"choose --metric from: {', '.join(logged) or 'nothing is logged yet'}.")
    return Stage(name=run.name, metric=chosen, values=values)


def _kind(run: Path) -> str | None:
    try:
        kind = json.loads((run / "train.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def plot_stages(stages: list[Stage], out: Path, every: int) -> Path:
    """`draw_stages` saved as a PNG at `out`."""
    fig = draw_stages(stages, every)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out


def draw_stages(stages: list[Stage], every: int) -> Any:
    """Each logged value as a faint line and its window means as a bold one, stages end to end, a dashed line
    where each next run starts. Each metric has its own y axis (SFT loss on the left, GRPO reward on the right when
    both are drawn: their scales have nothing in common), on a log scale where its values span a decade."""
    try:
        import matplotlib
    except ImportError:
        raise ComemError("drawing curves needs matplotlib.", fix="pip install 'comem[bench]', or leave out --out.") \
            from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(8, 3.5))
    metrics = list(dict.fromkeys(stage.metric for stage in stages))  # one per run kind, or the one --metric named
    axes = {metric: left if i == 0 else left.twinx() for i, metric in enumerate(metrics)}
    colours = itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    start, handles = 0, []
    for stage in stages:
        ax, colour = axes[stage.metric], next(colours)
        ax.plot(range(start + 1, start + len(stage.values) + 1), stage.values, color=colour, alpha=0.3, linewidth=1)
        means = stage.window_means(every)
        centres = [start + (i * every + 1 + min((i + 1) * every, len(stage.values))) / 2 for i in range(len(means))]
        label = stage.name if len(metrics) == 1 else f"{stage.name} ({stage.metric})"
        handles += ax.plot(centres, means, color=colour, linewidth=2, marker="o", markersize=3, label=label)
        if start:
            left.axvline(start + 0.5, color="grey", linestyle="--", linewidth=0.8)
        start += len(stage.values)
    for metric, ax in axes.items():
        values = [value for stage in stages if stage.metric == metric for value in stage.values]
        ax.set_ylabel(metric)
        if min(values) > 0 and max(values) > 10 * min(values):  # a loss falling by decades: read it on a log axis
            ax.set_yscale("log")
    left.set(xlabel="optimiser step (runs chained)", title=f"{' and '.join(metrics)} per step, bold: means of "
                                                           f"{every} steps")
    left.legend(handles=handles, fontsize=8)
    return fig
