"""Small SVG charts: bars with interval whiskers (the report's success rates and speedups), grouped bars (latency
p50/p90, retention by category) and lines per step (context size, latency). Values come in already computed
(by `comem.report` and `comem.core.metrics`); this module only places them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from comem.view.svg import Svg, fmt, nice_ticks

W, H, LEFT, BOTTOM, TOP = 420, 220, 48, 40, 24
PALETTE = 6  # series colours in the stylesheet: .s0 .. .s5


@dataclass
class Group:
    """One category on the x axis with a value per series (None: no value); `low`/`high`: interval ends."""

    label: str
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None


def _frame(svg: Svg, title: str, top: float, unit: str) -> tuple[float, float]:
    svg.add("text", title, x=svg.width / 2, y=14, class_="chart-title", text_anchor="middle")
    plot_h = svg.height - TOP - BOTTOM
    ticks = nice_ticks(top, 5)
    scale = plot_h / (ticks[-1] or 1)
    for tick in ticks:
        y = svg.height - BOTTOM - tick * scale
        svg.add("line", x1=LEFT, x2=svg.width - 8, y1=y, y2=y, class_="grid")
        svg.add("text", fmt(tick) + unit, x=LEFT - 4, y=y + 4, class_="tick", text_anchor="end")
    return scale, svg.height - BOTTOM


def bar_chart(title: str, series: list[str], groups: Sequence[Group], *, unit: str = "", top: float | None = None,
              width: float = W) -> Svg:
    svg = Svg(width, H, label=title)
    highs = [v for g in groups for v in (g.high or g.values) if v is not None]
    scale, base = _frame(svg, title, top if top is not None else max(highs, default=1.0) or 1.0, unit)
    slot = (width - LEFT - 8) / max(1, len(groups))
    bar_w = min(40.0, slot * 0.8 / max(1, len(series)))
    for gi, group in enumerate(groups):
        x0 = LEFT + gi * slot + (slot - bar_w * len(series)) / 2
        svg.add("text", group.label, x=LEFT + (gi + 0.5) * slot, y=base + 14, class_="tick", text_anchor="middle")
        for si, value in enumerate(group.values):
            if value is None:
                continue
            x = x0 + si * bar_w
            svg.add("rect", f"{series[si]} {group.label}: {fmt(value)}{unit}", x=round(x, 2),
                    y=round(base - value * scale, 2), width=round(bar_w - 2, 2), height=round(value * scale, 2),
                    class_=f"cbar s{si % PALETTE}")
            low = group.low[si] if group.low else None
            high = group.high[si] if group.high else None
            if low is not None and high is not None:
                cx = round(x + bar_w / 2 - 1, 2)
                svg.add("path", f"interval [{fmt(low)}, {fmt(high)}]{unit}", class_="whisker",
                        d=f"M{cx - 4},{base - high * scale} H{cx + 4} M{cx},{base - high * scale} "
                          f"V{base - low * scale} M{cx - 4},{base - low * scale} H{cx + 4}")
    _legend(svg, series)
    return svg


def line_chart(title: str, series: list[str], points: list[list[tuple[float, float]]], *, x_title: str,
               unit: str = "", width: float = W) -> Svg:
    """One polyline per series over a shared x axis (step index)."""
    svg = Svg(width, H, label=title)
    top = max((y for pts in points for _, y in pts), default=1.0) or 1.0
    scale, base = _frame(svg, title, top, unit)
    x_max = max((x for pts in points for x, _ in pts), default=1.0) or 1.0
    x_scale = (width - LEFT - 16) / x_max
    for tick in nice_ticks(x_max, 8):
        svg.add("text", fmt(tick), x=round(LEFT + tick * x_scale, 2), y=base + 14, class_="tick",
                text_anchor="middle")
    svg.add("text", x_title, x=LEFT + (width - LEFT) / 2, y=base + 30, class_="axis-title", text_anchor="middle")
    for si, pts in enumerate(points):
        coords = " ".join(f"{round(LEFT + x * x_scale, 2)},{round(base - y * scale, 2)}" for x, y in pts)
        if coords:
            svg.add("polyline", series[si], points=coords, class_=f"line s{si % PALETTE}")
    _legend(svg, series)
    return svg


def _legend(svg: Svg, series: list[str]) -> None:
    if len(series) < 2:
        return
    x = LEFT
    for si, name in enumerate(series):
        svg.add("rect", x=x, y=svg.height - 12, width=10, height=10, class_=f"cbar s{si % PALETTE}")
        svg.add("text", name, x=x + 14, y=svg.height - 3, class_="tick")
        x += 24 + 7 * len(name)
