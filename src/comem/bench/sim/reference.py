"""The roofline against NVIDIA AIConfigurator's step-time estimates (reference_points.yaml, docs/simulator.md §2.7).

Each point is one static batch as AIConfigurator runs it: `batch` identical prompts prefilled in one iteration
(ttft), then decode iterations over the batch (tpot, taken at the middle of the output), a step being
ttft + output_tokens x tpot. The roofline's constants are the same for every point; the test holds each
error within 15%.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from comem.bench.sim.presets import HARDWARE, MODELS
from comem.bench.sim.roofline import Efficiency, Roofline
from comem.core.config import StrictModel

POINTS_FILE = Path(__file__).with_name("reference_points.yaml")
GOAL = 0.15  # largest relative error allowed at any point


class Group(StrictModel):
    """One deployment: preset model and device, and how many devices."""

    model: str
    hardware: str
    n_gpu: int = Field(ge=1)


class Point(StrictModel):
    group: str
    metric: Literal["ttft", "tpot", "step"]
    batch: int = Field(ge=1)
    prompt: int = Field(ge=1)
    cached: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=300, ge=1)
    seconds: float = Field(gt=0)
    note: str = ""


class ReferenceSet(StrictModel):
    groups: dict[str, Group]
    points: list[Point]


@dataclass
class Comparison:
    point: Point
    group: Group
    predicted_s: float

    @property
    def error(self) -> float:
        return self.predicted_s / self.point.seconds - 1.0


def load(path: Path = POINTS_FILE) -> ReferenceSet:
    return ReferenceSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def predict(point: Point, group: Group, efficiency: Efficiency | None = None) -> float:
    """The roofline's time for one point, with the preset model and device and default (or given) efficiencies."""
    hw = HARDWARE[group.hardware].model_copy(update={"n_gpu": group.n_gpu})
    rf = Roofline(MODELS[group.model], hw, efficiency or Efficiency())
    b = point.batch
    ttft = rf.iteration(0, 0.0, [(point.prompt - point.cached, point.cached)] * b)
    tpot = rf.iteration(b, b * (point.prompt + point.output_tokens / 2))
    return {"ttft": ttft, "tpot": tpot, "step": ttft + point.output_tokens * tpot}[point.metric]


def compare(refs: ReferenceSet | None = None, efficiency: Efficiency | None = None) -> list[Comparison]:
    refs = refs or load()
    return [Comparison(p, refs.groups[p.group], predict(p, refs.groups[p.group], efficiency)) for p in refs.points]
