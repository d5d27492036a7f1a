"""One simulation's configuration: a deployment preset, then `key=value` overrides, then a calibration file.

`--set agent.hardware.n_gpu=4`, `--set agent.model=deepswe-32b`, `--set settings.summary_tokens=500`,
`--set workload.distribution.steps.median=60`: keys are dotted paths into `SimConfig`; values are JSON where
they parse as JSON (numbers, true/false, null, lists) and strings otherwise. Model and hardware fields accept
preset names (`agent.hardware=h100` swaps the whole device; `agent.hardware.n_gpu=4` changes one field).
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from comem.bench.sim.agents import ArmSettings
from comem.bench.sim.engine import EngineSpec
from comem.bench.sim.presets import DEPLOYMENTS
from comem.bench.sim.workload import DistributionSpec
from comem.core.config import StrictModel, deep_merge, first_error
from comem.core.errors import ComemError


class WorkloadSpec(StrictModel):
    """Trajectory shapes: from a replay's steps.jsonl, from recorded trajectories, or drawn (the default)."""

    replay: Path | None = None
    recorded: Path | None = None
    distribution: DistributionSpec = Field(default_factory=DistributionSpec)
    seed: int = 0


class SimConfig(StrictModel):
    """Everything one simulated run depends on."""

    deployment: str = "custom"
    agent: EngineSpec
    memory: EngineSpec
    placement: Literal["separate", "shared"] = "separate"  # memory model on its own devices, or the agent's engine
    # equal: an arm without a memory model also gets the memory model's devices (docs/simulator.md §7), so every
    # arm runs on the same hardware; agent-only: the paper's setup, the memory model on devices the baseline lacks
    baseline_hardware: Literal["equal", "agent-only"] = "equal"
    contention: float = Field(default=1.0, ge=1.0)  # separate engines on one host: slowdown while both compute
    arms: list[str] = Field(default_factory=lambda: ["full", "kso"])
    k: int | None = Field(default=None, ge=1)  # the deployment's k, for kso / sync without -kN; None: theirs
    concurrency: int = Field(default=8, ge=1)
    max_model_len: int = Field(default=65536, ge=2)
    offload: bool = False  # CPU KV tier on both engines (vLLM native offloading, docs/simulator.md §4.3)
    # CPU tier per engine; None: the paper's 500 GiB, or the engine's own GPU KV size where that is larger (a tier
    # smaller than the KV it extends holds little the GPU would not; docs/simulator.md §4.3)
    offload_gib: float | None = Field(default=None, gt=0)
    settings: ArmSettings = Field(default_factory=ArmSettings)
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)
    check: bool = False  # recount the KV cache after every iteration (tests)


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(tree: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """Set dotted keys in a nested dict: ["agent.hardware.n_gpu=4", ...]. A preset name is expanded to a dict."""
    out = copy.deepcopy(tree)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ComemError(f"Bad override {pair!r}.", fix="write --set key=value, e.g. --set agent.hardware.n_gpu=4.")
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if isinstance(child, str):  # a preset name being overridden field by field
                child = {"name": child}
            if child is None:
                child = {}
            if not isinstance(child, dict):
                raise ComemError(f"Override {pair!r}: {part!r} is not a group of settings.",
                                 fix="check the key path against `comem bench simulate --help`.")
            node[part] = child
            node = child
        node[parts[-1]] = parse_value(value.strip())
    return out


def load_config(deployment: str | None, overrides: list[str] | None = None, calibration: Path | None = None,
                **fields: Any) -> SimConfig:
    """A deployment preset (or none), then explicit fields, then `--set` overrides, then calibrated efficiencies."""
    if deployment is not None and deployment not in DEPLOYMENTS:
        raise ComemError(f"Unknown deployment {deployment!r}.", fix=f"use one of: {', '.join(DEPLOYMENTS)}.")
    tree: dict[str, Any] = copy.deepcopy(DEPLOYMENTS[deployment]) if deployment else {}
    tree = deep_merge(tree, {"deployment": deployment or "custom"})
    if "summary_tokens" in tree:
        tree = deep_merge(tree, {"settings": {"summary_tokens": tree.pop("summary_tokens")}})
    tree = deep_merge(tree, {k: v for k, v in fields.items() if v is not None})
    # Expand defaults first, so that an override of one field keeps its siblings (without a preset the tree is
    # incomplete until the overrides come in).
    with contextlib.suppress(ValidationError):
        tree = SimConfig.model_validate(tree).model_dump(mode="json")
    tree = apply_overrides(tree, overrides or [])
    if calibration is not None:
        tree = apply_calibration(tree, calibration)
    try:
        return SimConfig.model_validate(tree)
    except ValidationError as exc:
        raise ComemError(f"Invalid simulation setting {first_error(exc)}.",
                         fix="check the --set keys and values (see `comem bench simulate --help`).") from None


def apply_calibration(tree: dict[str, Any], path: Path) -> dict[str, Any]:
    """Install fitted efficiencies from a `comem bench calibrate` file into the engines it names."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        efficiency, engines = data["efficiency"], data.get("engines", ["agent", "memory"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ComemError(f"{path} is not a calibration file ({exc}).",
                         fix="pass a file written by `comem bench calibrate`.") from None
    tree = deep_merge(tree, {engine: {"efficiency": efficiency} for engine in engines})
    return deep_merge(tree, {"contention": data["contention"]}) if data.get("contention") else tree

