"""What each page shows, as plain data for its template: the run (arms x tasks grid, report tables and figures),
an episode (timeline, steps, contexts, summaries with kept and lost identifiers, patch and verdict), a comparison
of two arms on one task, and a replay. The served pages and the export render the same data."""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from comem.bench.figures import figures, memory_figures
from comem.bench.records import MemoryRow, StepRow
from comem.bench.replay import report as replay_report
from comem.bench.replay.runner import read_rows
from comem.core.actions import to_xml
from comem.core.errors import ComemError
from comem.core.records import Step
from comem.report.retention import CATEGORIES
from comem.report.summary import ArmReport, summarise
from comem.report.tables import SECTIONS
from comem.view import charts, timeline
from comem.view.context import rebuild
from comem.view.load import EpisodeData, EpisodeRef, RunIndex, load_episode
from comem.view.marks import Marker, obs_chars
from comem.view.svg import Svg

PAGE_SIZE = 100  # grid rows (task, seed) per page of a run
READ_ERRORS = (ComemError, ValueError, KeyError, OSError)  # what a half-written or foreign file can raise


def q(part: str | int) -> str:
    return quote(str(part), safe="")


def episode_path(ref: EpisodeRef) -> str:
    return f"/episode/{q(ref.arm)}/{q(ref.name)}"


def compare_path(task: str, seed: int, a: str, b: str) -> str:
    return f"/compare/{q(task)}/{seed}/{q(a)}/{q(b)}"


def replay_path(arm: str, concurrency: int, repeat: int, agent: int) -> str:
    return f"/replay/{q(arm)}/{concurrency}/{repeat}/{agent}"


@dataclass
class Report:
    """The report's rows for a run (the same figures as `comem report`), or why there are none."""

    rows: list[ArmReport] = field(default_factory=list)
    notice: str | None = None


def run_report(root: Path) -> Report:
    try:
        return Report(summarise(root))
    except READ_ERRORS as exc:
        return Report(notice=f"The report's figures could not be computed: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, ComemError) else f"{type(exc).__name__}: {exc}"


def report_charts(rows: list[ArmReport]) -> list[Svg]:
    out = []
    graded = [r for r in rows if r.success_rate is not None]
    if graded:
        out.append(charts.bar_chart("resolved, 95% bootstrap interval", ["resolved"], [charts.Group(
            r.arm, [100 * r.success_rate], [100 * r.success_ci[0]] if r.success_ci else None,
            [100 * r.success_ci[1]] if r.success_ci else None) for r in graded], unit="%", top=100))
    timed = [r for r in rows if r.step_latency_p50_s is not None]
    if timed:
        out.append(charts.bar_chart("agent latency per step (s)", ["p50", "p90"], [
            charts.Group(r.arm, [r.step_latency_p50_s, r.step_latency_p90_s]) for r in timed]))
    sped = [r for r in rows if r.speedup_wall is not None]
    if sped:
        out.append(charts.bar_chart("speedup vs full, 95% interval", ["x wall", "x step"], [charts.Group(
            r.arm, [r.speedup_wall, r.speedup_step],
            [r.speedup_wall_ci[0] if r.speedup_wall_ci else None, r.speedup_step_ci[0] if r.speedup_step_ci else None],
            [r.speedup_wall_ci[1] if r.speedup_wall_ci else None, r.speedup_step_ci[1] if r.speedup_step_ci else None],
        ) for r in sped]))
    kept = [r for r in rows if r.retention is not None]
    if kept:
        out.append(charts.bar_chart("identifiers kept in summaries", [r.arm for r in kept], [charts.Group(
            c, [100 * v if (v := r.retention.by_category[c]) is not None else None for r in kept])
            for c in CATEGORIES], unit="%", top=100))
    return out


def _cell(ref: EpisodeRef) -> dict[str, Any]:
    r = ref.result
    if r is None:
        return {"href": episode_path(ref), "status": "running", "text": "no result yet", "detail": ""}
    status = {True: "resolved", False: "unresolved", None: "ungraded"}[r.resolved]
    return {"href": episode_path(ref), "status": status, "text": status,
            "detail": f"{r.exit_reason} · {r.steps} steps · {r.wall_s:.1f} s"}


def run_page(index: RunIndex, report: Report, page: int | None) -> dict[str, Any]:
    """`page` None: every row (the export); else one page of PAGE_SIZE rows."""
    keys, grouped = index.keys(), index.by_key()
    pages = max(1, -(-len(keys) // PAGE_SIZE))
    shown = keys if page is None else keys[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    rows = []
    for task, seed in shown:
        arms = grouped[(task, seed)]
        present = [a for a in index.arms if a in arms]
        rows.append({"task": task, "seed": seed, "cells": {a: _cell(arms[a]) for a in present},
                     "compare": [(b, compare_path(task, seed, present[0], b)) for b in present[1:]]})
    sections = [(title, headers, [cells(r) for r in report.rows], legend)
                for title, headers, cells, legend in SECTIONS] if report.rows else []
    live = sum(e.live for e in index.episodes)
    return {"title": index.root.name, "root": str(index.root), "arms": index.arms, "rows": rows,
            "episodes": len(index.episodes), "live": live, "tasks": len(keys), "sections": sections,
            "charts": report_charts(report.rows), "notices": index.notices + ([report.notice] if report.notice else []),
            "page": page or 1, "pages": pages if page is not None else 1}


CODE_BLOCK = re.compile(r"```[\w-]*\n(.*?)```", re.S)


def action_text(step: Step) -> str:
    """The call, or the command a text-action agent wrote (mini-swe-agent answers in a ```bash block, which a
    gateway sees as a plain reply), or that there was none."""
    if step.action:
        return to_xml(step.action)
    blocks = CODE_BLOCK.findall(step.response or "")
    return f"(text action) {blocks[-1].strip()}" if blocks else "(no action: the reply had no tool call)"


def _patch_lines(patch: str) -> list[tuple[str, str]]:
    def kind(line: str) -> str:
        if line.startswith(("+++", "---", "diff ", "index ")):
            return "file"
        return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")

    return [(kind(line), line) for line in patch.splitlines()]


def _context_chart(title: str, names: list[str], episodes: list[EpisodeData], value) -> Svg:
    return charts.line_chart(title, names, [[(s.index, value(s)) for s in e.steps] for e in episodes],
                             x_title="step", width=560)


def _size_chart(data: EpisodeData) -> Svg | None:
    """Prompt tokens per step as the server counted them; characters where it reported none."""
    if not data.steps:
        return None
    if any(s.prompt_tokens for s in data.steps):
        return _context_chart("prompt tokens per step (a drop: a summary was installed)", ["prompt tokens"], [data],
                              lambda s: s.prompt_tokens)
    return _context_chart("context characters per step (a drop: a summary was installed)", ["characters"], [data],
                          lambda s: s.context_chars)


def episode_page(data: EpisodeData) -> dict[str, Any]:
    ref, end = data.ref, data.end
    contexts = rebuild(data)
    marker = Marker(data.steps, obs_chars(data.strategy))
    summaries = []
    for record in data.memory:
        marks = marker.marks(record) if record.status == "ok" else []
        groups = [(c, [m.identifier for m in marks if m.category == c and not m.kept],
                   [m.identifier for m in marks if m.category == c and m.kept]) for c in CATEGORIES]
        summaries.append({"record": record, "marks": marks, "lost": sum(not m.kept for m in marks),
                          "groups": [g for g in groups if g[1] or g[2]],
                          "shown_at": [s.index for s in data.steps if s.summary_id == record.id]})
    installs = {r.id: r.installed_step for r in data.memory if r.installed_step is not None}
    bars = timeline.bars([timeline.TimedStep(s.index, s, s.action is not None) for s in data.steps], data.memory,
                         installs)
    steps = [{"step": s, "action": action_text(s), "context": contexts.steps.get(s.index)} for s in data.steps]
    notices = data.notices + ([contexts.notice] if contexts.notice else [])
    return {
        "title": f"{ref.arm} · {ref.name}", "ref": ref, "data": data, "end": end, "steps": steps,
        "summaries": summaries, "timeline": timeline.draw(bars, len(data.steps)),
        "counts": {kind: sum(b.kind == kind for b in bars) for kind in timeline.LANE_OF},
        "context_chart": _size_chart(data),
        "contexts": json.dumps(contexts.payload(), separators=(",", ":")).replace("</", "<\\/"),
        "patch": _patch_lines(end.patch) if end and end.patch else [],
        "grade_detail": json.dumps(end.grade_detail, indent=2) if end and end.grade_detail else "",
        "notices": notices, "live": data.live, "path": episode_path(ref),
        "config": json.dumps(data.start.config, indent=2) if data.start else "",
    }


def compare_page(index: RunIndex, task: str, seed: int, a: str, b: str) -> dict[str, Any] | None:
    arms = index.by_key().get((task, seed), {})
    if a not in arms or b not in arms:
        return None
    left, right = load_episode(arms[a]), load_episode(arms[b])
    n = max(len(left.steps), len(right.steps))

    def side(data: EpisodeData, i: int) -> tuple[Step, str] | None:
        if i >= len(data.steps) or data.steps[i].index != i:
            return None
        step = data.steps[i]
        action = step.action
        text = f"{action.name} {json.dumps(action.arguments, ensure_ascii=False)}" if action else action_text(step)
        return step, text

    rows = [{"index": i, "sides": (side(left, i), side(right, i))} for i in range(n)]
    names = [a, b]
    return {"title": f"{task} (seed {seed}): {a} vs {b}", "task": task, "seed": seed, "a": a, "b": b, "rows": rows,
            "left": left, "right": right, "refs": arms, "paths": (episode_path(arms[a]), episode_path(arms[b])),
            "others": [(x, y, compare_path(task, seed, x, y)) for x in arms for y in arms if x != y],
            "charts": [_context_chart("prompt tokens per step", names, [left, right], lambda s: s.prompt_tokens),
                       _context_chart("step latency (s): agent call + exposed memory wait", names, [left, right],
                                      lambda s: s.latency_s)],
            "notices": [f"{a}: {m}" for m in left.notices] + [f"{b}: {m}" for m in right.notices]}


@dataclass
class Replay:
    steps: list[StepRow]
    memory: list[MemoryRow]
    notice: str | None = None


def load_replay(root: Path) -> Replay:
    try:
        steps, memory, _ = read_rows(root)
    except READ_ERRORS as exc:
        return Replay([], [], f"The replay's rows could not be read: {_reason(exc)}")
    notice = None if steps else "No completed replay run yet (runs.jsonl lists none)."
    return Replay(steps, memory, notice)


def replay_page(root: Path, replay: Replay, agent_key: tuple[str, int, int, int] | None) -> dict[str, Any] | None:
    steps, memory = replay.steps, replay.memory
    agents = sorted({(s.arm, s.concurrency, s.repeat, s.agent) for s in steps})
    if agent_key is None and steps:
        arm = replay_report.timeline_arm(steps, memory)
        agent_key = min(k for k in agents if k[0] == arm)
    if agent_key is not None and agent_key not in agents:
        return None
    figs, mem = (figures(steps), memory_figures(memory)) if steps else ([], [])
    lowest = min((s.concurrency for s in steps), default=1)
    by_arm: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in steps:
        if s.concurrency == lowest:
            by_arm[s.arm][s.step].append(s.latency_s)
    arms = sorted(by_arm)
    latency = charts.line_chart(f"median step latency by step (s), concurrency {lowest}", arms,
                                [[(i, statistics.median(v)) for i, v in sorted(by_arm[a].items())] for a in arms],
                                x_title="step", width=640) if steps else None
    svg, trajectories = None, []
    if agent_key is not None:
        mine = [s for s in steps if (s.arm, s.concurrency, s.repeat, s.agent) == agent_key]
        calls = [m for m in memory if (m.arm, m.concurrency, m.repeat, m.agent) == agent_key]
        t0 = min(s.started_s for s in mine)
        svg = timeline.draw(timeline.bars([timeline.TimedStep(s.step, s, s.tool_s > 0) for s in mine], calls),
                            len(mine), t0=t0, axis_title="seconds since this agent's first step")
        trajectories = list(dict.fromkeys(s.trajectory for s in mine))
    return {"title": root.name, "root": str(root), "table": (
        replay_report.HEADERS, [replay_report.cells(f) for f in figs], replay_report.LEGEND),
        "memory_table": (replay_report.MEMORY_HEADERS, [replay_report.memory_cells(f) for f in mem],
                         replay_report.MEMORY_LEGEND) if mem else None,
        "latency": latency, "timeline": svg, "selected": agent_key, "trajectories": trajectories,
        "agents": [(k, replay_path(*k)) for k in agents], "notices": [replay.notice] if replay.notice else []}
