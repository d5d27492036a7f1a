"""Replay arms, named in the arm grammar of `comem.context.arms` (the same parser as `comem run --arms`):
`full`, `full-nocache`, `mask`, `sync-k2`, `kso-k4`, `kso-k2-deadline`.

`-nocache` is the control that makes every request miss the engine's prefix cache; `-kN` sets the field `k`; a
last `-wait`, `-deadline` or `-stale` sets kso's `late_policy`. Anything else a strategy takes comes from
`options`, by the strategy config's field names (`memory_max_tokens`, `memory_input`, `keep_last`, ...).

Two kinds of run are not arms of their own but twins that the report sets beside one (labels with `@`):
`full@agent-cores`, the baseline confined to the cores the memory arms' agent server gets (the memory model then
runs on hardware the baseline does not use: the paper's setup, reported only beside the equal-hardware figure), and
`<arm>@instant-memory`, a memory arm whose summaries cost nothing, the run its S* comes from.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from comem.bench.figures import AGENT_CORES, INSTANT
from comem.context import ArmConfig, parse_arm_spec
from comem.core.metrics import BASELINE

DEFAULT_ARMS = ["full", "full-nocache", "mask", "sync-k2", "kso-k1", "kso-k2", "kso-k4"]
EXTRA_HARDWARE_BASELINE = BASELINE + AGENT_CORES


class ReplayArm(BaseModel):
    label: str
    strategy: ArmConfig  # the strategy's own config (FullConfig, KsoConfig, ...)
    reuse_cache: bool = True  # False: a fresh salt per request, so nothing is served from the prefix cache
    agent_cores_only: bool = False  # no memory model, yet only the cores a memory arm's agent server gets
    instant_memory: bool = False  # summaries ready at launch, no memory server: the run behind S*


def parse_arm(spec: str, options: dict[str, Any] | None = None) -> ReplayArm:
    """`kso-k2` -> kso with k=2; options apply where the strategy has them (e.g. memory_max_tokens)."""
    parsed = parse_arm_spec(spec, options)
    return ReplayArm(label=parsed.config.key, strategy=parsed.config, reuse_cache=parsed.reuse_cache)


def extra_hardware_baseline() -> ReplayArm:
    """`full` on the memory arms' agent cores only: what "memory on extra hardware" is measured against."""
    return parse_arm(BASELINE).model_copy(update={"label": EXTRA_HARDWARE_BASELINE, "agent_cores_only": True})


def instant_twin(arm: ReplayArm) -> ReplayArm:
    """The same memory arm with instant summaries: its agent calls as they would be with memory fully hidden."""
    return arm.model_copy(update={"label": arm.label + INSTANT, "instant_memory": True})
