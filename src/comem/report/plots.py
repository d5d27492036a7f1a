"""The report's PNGs: success with its interval, per-step latency by arm, retention by category.

matplotlib is imported here only (it is in the `bench` extra); without it the report is written without
figures and says so.
"""

from __future__ import annotations

from pathlib import Path

from comem.report.retention import CATEGORIES
from comem.report.summary import ArmReport

MISSING = "Figures skipped: matplotlib is not installed (pip install 'comem[bench]')."


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plots(rows: list[ArmReport], out: Path) -> list[str]:
    """Write the figures that have data; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []

    graded = [r for r in rows if r.success_rate is not None]
    if graded:
        fig, ax = plt.subplots(figsize=(1.2 * len(graded) + 2, 3.5))
        values = [100 * r.success_rate for r in graded]
        low = [100 * (r.success_rate - r.success_ci[0]) if r.success_ci else 0 for r in graded]
        high = [100 * (r.success_ci[1] - r.success_rate) if r.success_ci else 0 for r in graded]
        ax.bar([r.arm for r in graded], values, yerr=[low, high], capsize=4, color="tab:blue")
        ax.set(ylabel="resolved (%)", ylim=(0, 100), title="Success rate, 95% bootstrap interval")
        written.append(_save(fig, out / "success.png"))

    timed = [r for r in rows if r.step_latency_p50_s is not None]
    if timed:
        fig, ax = plt.subplots(figsize=(1.4 * len(timed) + 2, 3.5))
        xs = range(len(timed))
        ax.bar([x - 0.2 for x in xs], [r.step_latency_p50_s for r in timed], 0.4, label="p50")
        ax.bar([x + 0.2 for x in xs], [r.step_latency_p90_s for r in timed], 0.4, label="p90")
        ax.set_xticks(list(xs), [r.arm for r in timed])
        ax.set(ylabel="seconds", title="Agent latency per step (model call + exposed memory wait)")
        ax.legend()
        written.append(_save(fig, out / "step_latency.png"))

    kept = [r for r in rows if r.retention is not None]
    if kept:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / len(kept)
        for i, r in enumerate(kept):
            shares = [100 * v if (v := r.retention.by_category[c]) is not None else float("nan") for c in CATEGORIES]
            ax.bar([c + i * width - 0.4 + width / 2 for c in range(len(CATEGORIES))], shares, width, label=r.arm)
        ax.set_xticks(range(len(CATEGORIES)), CATEGORIES)
        ax.set(ylabel="retained (%)", ylim=(0, 100), title="Identifiers of the summarised steps kept in summaries")
        ax.legend()
        written.append(_save(fig, out / "retention.png"))
    return written


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
