"""SVG drawings as data: shapes with their attributes, rendered by one template macro, so the timeline and the
charts are computed in Python (and tested as numbers) and drawn the same way in a served page and an export."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Shape:
    tag: str  # rect, line, text, polyline, circle, path
    attrs: dict[str, str | float | int]
    text: str = ""  # the content of a <text>, or a <title> tooltip of any other shape


@dataclass
class Svg:
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)
    label: str = ""  # aria-label

    def add(self, tag: str, text: str = "", **attrs: str | float | int) -> Shape:
        shape = Shape(tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}, text)
        self.shapes.append(shape)
        return shape


def nice_ticks(high: float, count: int = 8) -> list[float]:
    """Round tick values from 0 to at least `high` (steps of 1, 2 or 5 times a power of ten)."""
    if high <= 0:
        return [0.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [round(i * step, 10) for i in range(int(math.ceil(high / step - 1e-9)) + 1)]


def fmt(value: float) -> str:
    """A tick label: no trailing zeros."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
