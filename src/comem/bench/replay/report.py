"""The replay's figures as a table (terminal + Markdown), CSV/JSON files, and three plots.

Plots: median step latency (agent call + exposed memory wait) by step index; speedup versus concurrency; and a
timeline of one trajectory (agent calls, tool time, exposed memory wait, memory-model calls), like the paper's
k-step-off figure. Every figure comes from `comem.bench.figures` (definitions: `comem.core.metrics`).
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path

from rich.table import Table

from comem.bench.figures import INSTANT, ArmFigures, MemoryFigures, memory_figures, replay_figures
from comem.bench.records import MemoryRow, RunTiming, StepRow
from comem.bench.replay.arms import EXTRA_HARDWARE_BASELINE
from comem.core.metrics import BASELINE
from comem.core.tables import markdown_table, rich_table

HEADERS = ["arm", "conc", "steps", "med s", "p90 s", "ttft s", "dec s", "prompt", "reuse", "X/wall",
           "x step", "x e2e", "S*", "eta"]
EQUAL = "equal hardware: every arm on the same cores (an arm without a memory model runs its agent on all of them)"
EXTRA = (f"memory on extra hardware, beside the table above and never alone: speedups against "
         f"{EXTRA_HARDWARE_BASELINE}, the baseline on the memory arms' agent cores only (the memory server's cores "
         "are extra to it)")
LEGEND = ("med/p90: step latency T = memory wait + agent call (p90 by linear interpolation) · ttft/dec: medians "
          "· prompt: median prompt tokens · reuse: prompt tokens served from the prefix cache · X/wall: exposed "
          "memory wait / trajectory wall time · x step: mean T of full / mean T of arm (Σ T / Σ steps) · x e2e: "
          "mean trajectory wall time of full / arm · S*: ideal bound Σ(T_full+τ)/Σ(call_arm+τ), call_arm from the "
          "arm's instant-memory run (~: from its own run, an upper estimate) · eta: x e2e / S* "
          "· all over the trajectories both arms replayed; definitions: docs/metrics.md")


def cells(f: ArmFigures) -> list[str]:
    def ratio(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    return [f.arm, str(f.concurrency), str(f.steps), f"{f.step_median_s:.2f}", f"{f.step_p90_s:.2f}",
            f"{f.ttft_median_s:.2f}", f"{f.decode_median_s:.2f}", f"{f.prompt_median_tokens:.0f}",
            "-" if f.cache_reuse is None else f"{f.cache_reuse:.0%}", f"{f.exposed_share:.1%}",
            ratio(f.s_step), ratio(f.s_e2e), ratio(f.s_star) + ("~" if f.s_star_same_run else ""), ratio(f.eta)]


MEMORY_HEADERS = ["arm", "conc", "updates", "mem med s", "input tok", "mem reuse", "hidden"]
MEMORY_LEGEND = ("memory-model calls that finished (ok or error) · mem med s: median call latency · input tok: "
                 "median prompt tokens · mem reuse: input tokens served from the memory engine's prefix cache · "
                 "hidden: 1 − Σ exposed wait / Σ memory latency, within [0, 1]")


def memory_cells(f: MemoryFigures) -> list[str]:
    return [f.arm, str(f.concurrency), str(f.updates), f"{f.latency_median_s:.2f}", f"{f.input_median_tokens:.0f}",
            "-" if f.cache_reuse is None else f"{f.cache_reuse:.0%}",
            "-" if f.hidden_share is None else f"{f.hidden_share:.0%}"]


def to_table(figs: list[ArmFigures], title: str = EQUAL) -> Table:
    return rich_table(f"comem bench replay · {title}", HEADERS, [cells(f) for f in figs], LEGEND)


def extra_hardware_figures(steps: list[StepRow]) -> list[ArmFigures]:
    """The arms against `full@agent-cores`, where that baseline ran ([] otherwise); `full` itself left out (it runs
    on every core, so it is no memory arm on extra hardware)."""
    if not any(s.arm == EXTRA_HARDWARE_BASELINE for s in steps):
        return []
    return [f for f in replay_figures(steps, baseline=EXTRA_HARDWARE_BASELINE) if f.arm != BASELINE]


def write_report(out: Path, steps: list[StepRow], memory: list[MemoryRow], runs: list[RunTiming]) -> \
        tuple[list[ArmFigures], list[ArmFigures]]:
    """The equal-hardware figures and, where `full@agent-cores` ran, the extra-hardware ones beside them."""
    figs, extra = replay_figures(steps), extra_hardware_figures(steps)
    mem = memory_figures(m for m in memory if not m.arm.endswith(INSTANT))
    text = f"{EQUAL}\n\n" + markdown_table(HEADERS, [cells(f) for f in figs], LEGEND)
    if extra:
        text += f"\n{EXTRA}\n\n" + markdown_table(HEADERS, [cells(f) for f in extra], LEGEND)
    if mem:
        text += "\n" + markdown_table(MEMORY_HEADERS, [memory_cells(f) for f in mem], MEMORY_LEGEND)
    (out / "summary.md").write_text(text, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({
        "figures": [f.model_dump() for f in figs],
        "extra_hardware": [f.model_dump() for f in extra],
        "memory": [f.model_dump() for f in mem],
        "runs": [r.model_dump() for r in runs],
    }, indent=2), encoding="utf-8")
    _csv(out / "steps.csv", [s.model_dump() for s in steps])
    _csv(out / "figures.csv", [f.model_dump() for f in figs])
    shown = {f.arm for f in figs}
    plot_all(out, [s for s in steps if s.arm in shown], [m for m in memory if m.arm in shown], figs)
    return figs, extra


def _csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot_all(out: Path, steps: list[StepRow], memory: list[MemoryRow], figs: list[ArmFigures]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and CI
    import matplotlib.pyplot as plt

    if not steps:
        return
    lowest = min(s.concurrency for s in steps)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    by_arm: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in steps:
        if s.concurrency == lowest:
            by_arm[s.arm][s.step].append(s.latency_s)
    for arm, per_step in sorted(by_arm.items()):
        xs = sorted(per_step)
        ax.plot([x + 1 for x in xs], [statistics.median(per_step[x]) for x in xs], marker="o", ms=3, label=arm)
    ax.set(xlabel="step", ylabel="median step latency (s): agent call + exposed wait",
           title=f"Latency by step index (concurrency {lowest})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency_by_step.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    arms = sorted({f.arm for f in figs if f.arm != BASELINE and f.s_e2e is not None})
    for arm in arms:
        pts = sorted((f.concurrency, f.s_e2e, f.s_step) for f in figs if f.arm == arm and f.s_e2e is not None)
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{arm} e2e")
        ax.plot([p[0] for p in pts], [p[2] for p in pts], marker="x", ls="--", color=line.get_color(),
                label=f"{arm} step")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="concurrent agents", ylabel=f"speedup vs {BASELINE}", title="Speedup versus concurrency")
    if arms:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "speedup_vs_concurrency.png", dpi=120)
    plt.close(fig)
    plot_timeline(out / "timeline.png", steps, memory, plt)


def timeline_arm(steps: list[StepRow], memory: list[MemoryRow]) -> str:
    """The arm shown in the timeline: kso with k=2 if replayed, else any arm with memory calls, else the first."""
    arms = sorted({s.arm for s in steps})
    with_memory = sorted({m.arm for m in memory})
    return "kso-k2" if "kso-k2" in arms else (with_memory or arms)[0]


def plot_timeline(path: Path, steps: list[StepRow], memory: list[MemoryRow], plt) -> None:
    arm = timeline_arm(steps, memory)
    lowest = min(s.concurrency for s in steps if s.arm == arm)
    mine = [s for s in steps if (s.arm, s.concurrency, s.repeat, s.agent) == (arm, lowest, 0, 0)]
    mem = [m for m in memory if (m.arm, m.concurrency, m.repeat, m.agent) == (arm, lowest, 0, 0)]
    fig, ax = plt.subplots(figsize=(10, 3))
    lanes = {"memory model": 0, "memory wait": 1, "tool": 2, "agent call": 3}
    colors = {"memory model": "tab:purple", "memory wait": "tab:red", "tool": "tab:grey", "agent call": "tab:blue"}
    bars: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in mine:
        call_start, call_end = s.call_span
        bars["agent call"].append((call_start, s.agent_total_s))
        bars["tool"].append((call_end, s.tool_s))
        if s.memory_wait_s > 0:
            bars["memory wait"].append((s.started_s, s.memory_wait_s))
    for m in mem:
        if m.finished_s is not None:
            bars["memory model"].append((m.launched_s, m.finished_s - m.launched_s))
    for lane, spans in bars.items():
        ax.broken_barh(spans, (lanes[lane] - 0.4, 0.8), color=colors[lane], edgecolor="white", linewidth=0.5)
    ax.set_yticks(list(lanes.values()), list(lanes))
    ax.set(xlabel="seconds since the run started", title=f"Timeline: {arm}, {mine[0].trajectory if mine else ''}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
