"""The k-step-off timeline of one episode (docs/method.md §4): agent calls (time to first token, then decode),
tool runs, exposed memory waits, memory-model calls from launch to finish, and summary installs, in lanes on one
time axis.

Every bar comes from a recorded time: an agent call ends where its tool run starts (`StepTiming.call_span`), a
tool run ends at the step's `finished_s`, an exposed wait starts at the step's `started_s`, a memory call spans
`launched_s`..`finished_s` (one still in flight runs to the end of the axis), and a summary is installed when
the step that first shows it stops waiting. Each bar carries its times as data attributes, so a test (or a
reader) can check a bar against the record it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from comem.core.records import MemoryTiming, StepTiming
from comem.view.svg import Svg, fmt, nice_ticks

LANES = ("agent call", "tool", "exposed wait", "memory model", "summary installed")
LEFT, LANE_H, GAP, TOP, AXIS = 130, 20, 8, 8, 34


@dataclass
class Bar:
    kind: str  # agent, tool, wait, memory, install
    start: float
    end: float
    label: str
    step: int | None = None
    record: int | None = None
    ttft_s: float = 0.0  # agent calls: the part before the first token
    open: bool = False  # a memory call with no recorded end


@dataclass
class TimedStep:
    """A step as the timeline needs it: its index, its timing, and whether a tool ran."""

    index: int
    timing: StepTiming
    tool: bool


def bars(steps: Sequence[TimedStep], memory: Sequence[MemoryTiming], installs: dict[int, int] | None = None) \
        -> list[Bar]:
    """One bar per agent call, tool run, exposed wait and memory call; one per summary install (record id ->
    the step that first held it)."""
    out: list[Bar] = []
    by_index = {s.index: s.timing for s in steps}
    for s in steps:
        t = s.timing
        start, end = t.call_span
        out.append(Bar("agent", start, end, f"step {s.index}: agent call {t.agent_total_s:.2f} s (first token "
                       f"{t.agent_ttft_s:.2f} s), {t.prompt_tokens} prompt tokens", step=s.index,
                       ttft_s=min(t.agent_ttft_s, t.agent_total_s)))
        if s.tool:
            out.append(Bar("tool", t.finished_s - t.tool_s, t.finished_s, f"step {s.index}: tool {t.tool_s:.2f} s",
                           step=s.index))
        if t.memory_wait_s > 0:
            out.append(Bar("wait", t.started_s, t.started_s + t.memory_wait_s,
                           f"step {s.index}: waited {t.memory_wait_s:.2f} s for the memory model", step=s.index))
    last = max([b.end for b in out] + [m.finished_s or m.launched_s for m in memory], default=0.0)
    for m in memory:
        end = m.finished_s if m.finished_s is not None else last
        out.append(Bar("memory", m.launched_s, end, f"summary {m.id}: steps {m.covers[0]}-{m.covers[1] - 1}, "
                       f"launched at step {m.launch_step}, {m.status}, {end - m.launched_s:.2f} s "
                       f"({m.exposed_wait_s:.2f} s exposed)", record=m.id, open=m.finished_s is None))
    for record, step in (installs or {}).items():
        if (t := by_index.get(step)) is not None:
            at = t.started_s + t.memory_wait_s
            out.append(Bar("install", at, at, f"summary {record} installed at step {step}", step=step, record=record))
    return out


LANE_OF = {"agent": 0, "tool": 1, "wait": 2, "memory": 3, "install": 4}


def draw(items: list[Bar], steps: int, t0: float = 0.0, axis_title: str = "seconds since the episode started") \
        -> Svg:
    """The timeline as SVG shapes: wider for longer episodes (about 14 px per step, scrolled), at least 900 px."""
    t1 = max([b.end for b in items] + [t0 + 1e-3])
    plot = max(770, min(8000, 14 * steps))
    height = TOP + len(LANES) * (LANE_H + GAP) + AXIS
    svg = Svg(LEFT + plot + 20, height, label="timeline of agent calls, tool runs and memory calls")
    scale = plot / (t1 - t0)

    def x(t: float) -> float:
        return round(LEFT + (t - t0) * scale, 2)

    for i, name in enumerate(LANES):
        y = TOP + i * (LANE_H + GAP)
        svg.add("rect", x=LEFT, y=y, width=plot, height=LANE_H, class_="lane")
        svg.add("text", name, x=LEFT - 8, y=y + LANE_H * 0.7, class_="lane-label", text_anchor="end")
    axis_y = TOP + len(LANES) * (LANE_H + GAP)
    for tick in (t for t in nice_ticks(t1 - t0) if t <= t1 - t0):
        svg.add("line", x1=x(t0 + tick), x2=x(t0 + tick), y1=TOP, y2=axis_y, class_="grid")
        svg.add("text", fmt(tick), x=x(t0 + tick), y=axis_y + 14, class_="tick", text_anchor="middle")
    svg.add("text", axis_title, x=LEFT + plot / 2, y=axis_y + 30, class_="axis-title",
            text_anchor="middle")
    for b in items:
        y = TOP + LANE_OF[b.kind] * (LANE_H + GAP)
        data = {"data_start": f"{b.start:.6f}", "data_end": f"{b.end:.6f}"}
        if b.step is not None:
            data["data_step"] = b.step
        if b.record is not None:
            data["data_record"] = b.record
        if b.kind == "install":
            cx, cy = x(b.start), y + LANE_H / 2
            svg.add("path", b.label, d=f"M{cx},{cy - 8} L{cx + 6},{cy} L{cx},{cy + 8} L{cx - 6},{cy} Z",
                    class_="bar install", **data)
            continue
        width = max(1.0, round((b.end - b.start) * scale, 2))
        svg.add("rect", b.label, x=x(b.start), y=y + 2, width=width, height=LANE_H - 4,
                class_=f"bar {b.kind}" + (" open" if b.open else ""), **data)
        if b.kind == "agent" and b.ttft_s > 0:
            svg.add("rect", x=x(b.start), y=y + 2, width=max(1.0, round(b.ttft_s * scale, 2)), height=LANE_H - 4,
                    class_="ttft")
    return svg
