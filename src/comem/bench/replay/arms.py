"""Replay arms, named in the arm grammar of `comem.context.arms` (the same parser as `comem run --arms`):
`full`, `full-nocache`, `mask`, `sync-k2`, `kso-k4`, `kso-k2-deadline`.

`-nocache` is the control that makes every request miss the engine's prefix cache; `-kN` sets the field `k`; a
last `-wait`, `-deadline` or `-stale` sets kso's `late_policy`. Anything else a strategy takes comes from
`options`, by the strategy config's field names (`memory_max_tokens`, `memory_input`, `keep_last`, ...).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from comem.context import ArmConfig, parse_arm_spec

DEFAULT_ARMS = ["full", "full-nocache", "mask", "sync-k2", "kso-k1", "kso-k2", "kso-k4"]


class ReplayArm(BaseModel):
    label: str
    strategy: ArmConfig  # the strategy's own config (FullConfig, KsoConfig, ...)
    reuse_cache: bool = True  # False: a fresh salt per request, so nothing is served from the prefix cache


def parse_arm(spec: str, options: dict[str, Any] | None = None) -> ReplayArm:
    """`kso-k2` -> kso with k=2; options apply where the strategy has them (e.g. memory_max_tokens)."""
    parsed = parse_arm_spec(spec, options)
    return ReplayArm(label=parsed.config.key, strategy=parsed.config, reuse_cache=parsed.reuse_cache)
