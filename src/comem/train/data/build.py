"""Recorded trajectories -> GRPO records (docs/method.md §6), split by task, capped and shuffled like the original.

For every trajectory and every target step t (1 <= t < min(len, max_steps)), the history steps[:t] is cut at
covered = t - r: the memory model summarises steps[:covered] and the agent sees the summary plus steps[covered:t]
raw. `retain` picks r:

- `1` (default): the smallest raw window a kso agent sees at evaluation (kso with k=2 shows summary + 1 or 2
  raw steps), so training matches what the summary is used for;
- `0`: the original's setting — the memory model sees the entire history and the agent the summary plus the
  last observation only (docs/method.md §6 and §10);
- `random:A-B`: r drawn uniformly from A..B per record, seeded by (seed, task, t), to match kso's window cycle.

Records with covered = 0 (nothing to summarise) and records whose target step has no parsed action are skipped
and counted. Trajectories with fewer than `min_steps` steps are skipped.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

from pydantic import Field

from comem.context.memory import MemoryInput, MemorySettings
from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.records import Step
from comem.train.data.records import ChatTurn, GrpoRecord, Variant
from comem.trajectories.sources import RecordedTrajectory

_RANDOM = re.compile(r"random:(\d+)-(\d+)")
RETAIN_HELP = "0 (original), N (fixed) or random:A-B (per record)"


@dataclass(frozen=True)
class Retain:
    """r, or a range r is drawn from per record."""

    low: int
    high: int

    def draw(self, seed: int, task_id: str, t: int) -> int:
        if self.low == self.high:
            return self.low
        return random.Random(f"{seed}:{task_id}:{t}").randint(self.low, self.high)

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"random:{self.low}-{self.high}"


def parse_retain(text: str | int) -> Retain:
    """`1` -> Retain(1, 1); `random:1-2` -> Retain(1, 2)."""
    value = str(text).strip()
    if value.isdigit():
        return Retain(int(value), int(value))
    m = _RANDOM.fullmatch(value)
    if m and int(m.group(1)) <= int(m.group(2)):
        return Retain(int(m.group(1)), int(m.group(2)))
    raise ComemError(f"Bad retain {value!r}.", fix=f"Use {RETAIN_HELP}, e.g. --retain random:1-2.")


@dataclass
class GrpoBuild:
    """The records, and how many candidates were left out and why (for the manifest)."""

    records: list[GrpoRecord] = field(default_factory=list)
    short_trajectories: int = 0  # fewer than min_steps steps
    nothing_covered: int = 0  # t - r <= 0
    no_action: int = 0  # the target step's action did not parse

    def extend(self, other: GrpoBuild) -> None:
        """Add another set's records and counts (a source made of several trajectory sets)."""
        self.records += other.records
        self.short_trajectories += other.short_trajectories
        self.nothing_covered += other.nothing_covered
        self.no_action += other.no_action


class BuildOptions(StrictModel):
    """Everything that shapes the records; written to the manifest."""

    retain: str = "1"
    min_steps: int = 2
    max_steps: int = 40
    variant: Variant = "swe"
    seed: int = 42
    memory: MemorySettings = Field(default_factory=MemorySettings)


def build_grpo(trajectories: list[RecordedTrajectory], options: BuildOptions, source: str = "") -> GrpoBuild:
    """GRPO records for every usable (trajectory, target step), with counts of what was skipped."""
    if options.min_steps < 2:
        raise ComemError(f"min_steps must be at least 2, got {options.min_steps}.",
                         fix="A record needs one history step and one target step: pass --min-steps 2 or more.")
    if options.max_steps < 2:
        raise ComemError(f"max_steps must be at least 2, got {options.max_steps}.", fix="Pass --max-steps 2 or more.")
    retain = parse_retain(options.retain)
    memory = MemoryInput(options.memory)
    out = GrpoBuild()
    for traj in trajectories:
        if len(traj.steps) < options.min_steps:
            out.short_trajectories += 1
            continue
        steps = traj.steps[: options.max_steps]
        for t in range(1, len(steps)):
            r = retain.draw(options.seed, traj.name, t)
            covered = t - r
            if covered <= 0:
                out.nothing_covered += 1
                continue
            if steps[t].action is None:
                out.no_action += 1
                continue
            prompt = memory.prompt(memory.conversation(traj.system, traj.task, steps[:covered], None))
            out.records.append(GrpoRecord(
                record_id=f"{traj.name}:{t}", task_id=traj.name, source=source, target_step=t, retain=r,
                covered=covered, prompt=[ChatTurn(role="user", content=prompt)], system_prompt=traj.system,
                task_prompt=traj.task, raw_steps=_dump(steps[covered:t]), last_observation=steps[t - 1].observation,
                reference_action=steps[t].action.model_dump_json(), variant=options.variant,
                history=_dump(steps[:t]),
            ))
    return out


def build_grpo_records(trajectories: list[RecordedTrajectory], *, retain: str | int = 1, min_steps: int = 2,
                       max_steps: int = 40, variant: Variant = "swe", memory: MemorySettings | None = None,
                       seed: int = 42, source: str = "") -> list[GrpoRecord]:
    """The records only (see `build_grpo`)."""
    options = BuildOptions(retain=str(retain), min_steps=min_steps, max_steps=max_steps, variant=variant, seed=seed,
                           memory=memory or MemorySettings())
    return build_grpo(trajectories, options, source).records


def split_by_task(records: list[GrpoRecord], eval_fraction: float, seed: int,
                  keep: TaskSplit | None = None) -> tuple[list[GrpoRecord], list[GrpoRecord]]:
    """(train, eval), split by task, never by step: all of a task's records land on one side.

    round(tasks * eval_fraction) tasks, chosen by a seeded shuffle, go to eval — at least one and at most all
    but one when the fraction is above 0 and there are two tasks or more. Record order is kept. With `keep` (an
    earlier split), its tasks stay on their sides and only the tasks it never saw are drawn, so a set grown with
    more trajectories holds out what it held out before.

    A task of combined questions (`browsecomp:...?combine=N`, id `q1+q2`) is split by its questions: the draw
    holds out questions, eval gets the tasks made only of held-out questions, train those made of none, and a
    task with some of each is left out, so no held-out question was ever seen in training.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise ComemError(f"eval_fraction must be in [0, 1), got {eval_fraction}.", fix="e.g. --eval-fraction 0.2")
    kept_eval, kept = (keep.eval_units(), keep.units()) if keep else (set(), set())
    units = sorted({part for r in records for part in r.task_id.split("+")} - kept)
    n_eval = round(len(units) * eval_fraction)
    if eval_fraction > 0 and len(units) >= 2 and not kept_eval:
        n_eval = min(max(n_eval, 1), len(units) - 1)
    held_out = kept_eval | set(random.Random(seed).sample(units, n_eval))

    parts = {r.task_id: set(r.task_id.split("+")) for r in records}
    return ([r for r in records if not parts[r.task_id] & held_out],
            [r for r in records if parts[r.task_id] <= held_out])


@dataclass(frozen=True)
class TaskSplit:
    """The tasks an earlier `comem train data grpo` put on each side (its manifest's `tasks`)."""

    train: frozenset[str]
    eval: frozenset[str]

    def eval_units(self) -> set[str]:
        return {part for task in self.eval for part in task.split("+")}

    def units(self) -> set[str]:
        return self.eval_units() | {part for task in self.train for part in task.split("+")}


def shuffle_cap(records: list[GrpoRecord], limit: int | None, seed: int) -> list[GrpoRecord]:
    """A seeded shuffle, then the first `limit` (the original sampled 3200 train / 512 eval records this way)."""
    out = list(records)
    random.Random(seed).shuffle(out)
    return out if limit is None else out[:limit]


def _dump(steps: list[Step]) -> str:
    return json.dumps([s.model_dump(mode="json") for s in steps], ensure_ascii=False)
