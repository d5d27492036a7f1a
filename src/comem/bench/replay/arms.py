"""Replay arms named in one short string: `full`, `full-nocache`, `mask`, `sync-k2`, `kso-k4`,
`kso-k2-deadline`.

`-nocache` is the control that makes every request miss the engine's prefix cache; `-kN` sets the memory
period; a last `-wait`, `-deadline` or `-stale` sets kso's late policy. Anything else a strategy takes comes
from `options` (the same names as `comem run`'s flags).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from comem.core.errors import ComemError
from comem.eval.config import ArmConfig

DEFAULT_ARMS = ["full", "full-nocache", "mask", "sync-k2", "kso-k1", "kso-k2", "kso-k4"]
_SPEC = re.compile(
    r"^(?P<name>[a-z_]+)(?P<nocache>-nocache)?(?:-k(?P<k>\d+))?(?:-(?P<policy>wait|deadline|stale))?$")


class ReplayArm(BaseModel):
    label: str
    strategy: ArmConfig
    reuse_cache: bool = True  # False: a fresh salt per request, so nothing is served from the prefix cache


def parse_arm(spec: str, options: dict[str, Any] | None = None) -> ReplayArm:
    """`kso-k2` -> kso with k=2; options apply where the strategy has them (e.g. memory_max_tokens)."""
    match = _SPEC.match(spec.strip())
    if match is None:
        raise ComemError(f"Cannot read the arm {spec!r}.",
                         fix="write arms like full, full-nocache, mask, sync-k2, kso-k4, kso-k2-deadline.")
    arm = ArmConfig(name=match["name"], label=spec.strip())
    fields = type(arm.strategy_config()).model_fields  # unknown strategy names fail here, with the fix
    arm.options = {k: v for k, v in (options or {}).items() if k in fields and v is not None}
    if match["k"] is not None:
        if "k" not in fields:
            raise ComemError(f"Arm {spec!r}: {match['name']} has no memory period k.",
                             fix=f"drop the -k suffix: {match['name']}.")
        arm.options["k"] = int(match["k"])
    if match["policy"] is not None:
        if "late_policy" not in fields:
            raise ComemError(f"Arm {spec!r}: {match['name']} has no late policy.",
                             fix=f"drop the -{match['policy']} suffix.")
        arm.options["late_policy"] = match["policy"]
    arm.strategy_config()  # bad option values fail now, before any engine starts
    return ReplayArm(label=arm.key, strategy=arm, reuse_cache=match["nocache"] is None)
