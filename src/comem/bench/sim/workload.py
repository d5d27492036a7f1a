"""Where the simulator's trajectory shapes come from: recorded trajectories, replay measurements, or distributions.

A `TrajectoryShape` keeps only what serving cost depends on: the head (system prompt + task), and per step the
agent's output tokens, the tokens the observation adds to the prompt, and the tool time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from comem.bench.records import MemoryRow, StepRow, StepShape, TrajectoryShape
from comem.context.base import estimate_tokens
from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.metrics import BASELINE
from comem.trajectories.sources import RecordedTrajectory

MESSAGE_OVERHEAD = 4  # chat-template tokens per message (role markers, separators)


class Dist(StrictModel):
    """Lognormal around a median, clipped to [lo, hi]; sigma 0 gives the median every time."""

    median: float = Field(gt=0)
    lo: float = Field(ge=0)
    hi: float = Field(gt=0)
    sigma: float = Field(default=0.6, ge=0)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.clip(self.median * np.exp(self.sigma * rng.standard_normal(size)), self.lo, self.hi)


class DistributionSpec(StrictModel):
    """SWE-bench-like defaults (docs/simulator.md: 30-100 steps, 0.5-3K tokens appended, 100-2K out, 1-30 s tools).

    Medians are picked so a 60-step full-context trajectory ends near 64K tokens, the paper's context limit:
    2K head + 60 x (700 observation + 300 output).
    """

    steps: Dist = Dist(median=50, lo=30, hi=100, sigma=0.4)
    head_tokens: Dist = Dist(median=2000, lo=1000, hi=6000, sigma=0.3)
    observation_tokens: Dist = Dist(median=700, lo=100, hi=3000)
    output_tokens: Dist = Dist(median=300, lo=100, hi=2000)
    tool_s: Dist = Dist(median=5.0, lo=1.0, hi=30.0)


def shapes_from_distribution(spec: DistributionSpec, n: int, seed: int = 0) -> list[TrajectoryShape]:
    """n trajectories; the first m of them do not depend on n, so smaller sweeps are prefixes of larger ones."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        steps = max(1, round(float(spec.steps.draw(rng, 1)[0])))
        obs = spec.observation_tokens.draw(rng, steps).round().astype(int)
        outs = np.maximum(1, spec.output_tokens.draw(rng, steps).round().astype(int))
        tools = spec.tool_s.draw(rng, steps)
        out.append(TrajectoryShape(
            name=f"synthetic-{seed}-{i}", head_tokens=max(1, round(float(spec.head_tokens.draw(rng, 1)[0]))),
            steps=[StepShape(output_tokens=int(o), observation_tokens=int(d), tool_s=float(t))
                   for o, d, t in zip(outs, obs, tools, strict=True)],
        ))
    return out


def shapes_from_recorded(trajectories: Iterable[RecordedTrajectory]) -> list[TrajectoryShape]:
    """Token estimates (~4 bytes/token) of recorded text, plus the chat template's per-message overhead."""
    return [
        TrajectoryShape(
            name=t.name,
            head_tokens=estimate_tokens(t.system) + estimate_tokens(t.task) + 2 * MESSAGE_OVERHEAD,
            steps=[StepShape(output_tokens=max(1, estimate_tokens(s.response) + MESSAGE_OVERHEAD),
                             observation_tokens=estimate_tokens(s.observation) + MESSAGE_OVERHEAD, tool_s=s.tool_s)
                   for s in t.steps],
        )
        for t in trajectories
    ]


def shapes_from_replay(rows: list[StepRow], arm: str | None = None) -> list[TrajectoryShape]:
    """Shapes from a full-history arm's measured token counts: what step t adds is prompt[t+1] - prompt[t] - output[t].

    The arm is `full`, else `full-nocache` (same prompts). Each trajectory is taken from its first run (lowest
    concurrency, repeat and agent). The last step's observation never reaches a prompt, so it is 0.
    """
    arms = {r.arm for r in rows}
    nocache = f"{BASELINE}-nocache"
    arm = arm or (BASELINE if BASELINE in arms or nocache not in arms else nocache)
    runs: dict[str, dict[tuple[int, int, int], list[StepRow]]] = {}
    for r in rows:
        if r.arm == arm:
            runs.setdefault(r.trajectory, {}).setdefault((r.concurrency, r.repeat, r.agent), []).append(r)
    if not runs:
        raise ComemError(f"No {arm!r} rows in the replay data.", fix=f"replay the {arm!r} arm first.")
    shapes = []
    for name in sorted(runs):
        steps = sorted(runs[name][min(runs[name])], key=lambda r: r.step)
        if [s.step for s in steps] != list(range(len(steps))):
            raise ComemError(f"Trajectory {name!r} has missing or repeated steps in the replay data.",
                             fix="use a complete steps.jsonl.")
        out = []
        for t, s in enumerate(steps):
            nxt = steps[t + 1].prompt_tokens if t + 1 < len(steps) else s.prompt_tokens + s.completion_tokens
            out.append(StepShape(output_tokens=max(1, s.completion_tokens),
                                 observation_tokens=max(0, nxt - s.prompt_tokens - s.completion_tokens),
                                 tool_s=s.tool_s))
        shapes.append(TrajectoryShape(name=name, head_tokens=max(1, steps[0].prompt_tokens), steps=out))
    return shapes


def cap_context(shape: TrajectoryShape, max_model_len: int) -> TrajectoryShape:
    """Cut a trajectory where the full-context prompt plus output would pass the model's context limit.

    The paper's agents stop at their token limit; cutting every arm at the same step keeps the comparison matched.
    """
    context, keep = shape.head_tokens, 0
    for s in shape.steps:
        if context + s.output_tokens > max_model_len:
            break
        context += s.output_tokens + s.observation_tokens
        keep += 1
    if keep == 0:
        raise ComemError(f"Trajectory {shape.name!r} does not fit in max_model_len={max_model_len} even at step 0.",
                         fix="raise max_model_len or shorten the head.")
    return shape if keep == len(shape.steps) else shape.model_copy(update={"steps": shape.steps[:keep]})


def read_steps(path: Path) -> list[StepRow]:
    """A replay's steps.jsonl (one StepRow per line), or the directory holding it."""
    if path.is_dir():
        path = path / "steps.jsonl"
    if not path.is_file():
        raise ComemError(f"No replay data at {path}.", fix="pass a `comem bench replay` output dir or its steps.jsonl.")
    rows = _read_rows(path, StepRow)
    if not rows:
        raise ComemError(f"{path} has no rows.", fix="run the replay first.")
    return rows


def read_memory(path: Path) -> list[MemoryRow]:
    """The memory.jsonl beside a replay's steps.jsonl (or in its directory); empty if there is none."""
    path = path / "memory.jsonl" if path.is_dir() else path.with_name("memory.jsonl")
    return _read_rows(path, MemoryRow) if path.is_file() else []


def _read_rows(path: Path, model: type[BaseModel]) -> list:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(model.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ComemError(f"{path}:{no} is not a {model.__name__} row ({str(exc).splitlines()[0]}).",
                             fix="pass the output of `comem bench replay`.") from None
    return rows


def read_recorded(path: Path) -> list[RecordedTrajectory]:
    """Recorded trajectories: a JSONL of RecordedTrajectory objects, or a JSON list of them."""
    text = path.read_text(encoding="utf-8")
    try:
        items = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x]
        return [RecordedTrajectory.model_validate(x) for x in items]
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ComemError(f"{path} is not a list of recorded trajectories ({str(exc).splitlines()[0]}).",
                         fix="pass JSONL with one RecordedTrajectory per line.") from None
