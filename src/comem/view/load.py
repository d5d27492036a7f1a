"""A viewed directory as typed records, read tolerantly: a torn tail, a bad line, an episode still running or a
missing results line becomes a notice on the page, never an error.

Three layouts are read:

- a run (`comem run`, `comem eval`): `<arm>/trajectories/<task>[.seed<N>].jsonl` and `<arm>/results.jsonl`;
- gateway sessions (`comem serve`): the same layout, `<arm>/trajectories/<session-id>.jsonl`, with a result
  line only once a session has ended; a trajectory without a result is a live (or interrupted) episode;
- a replay (`comem bench replay`): `steps.jsonl`, `memory.jsonl`, `runs.jsonl` at the top.

Files are found by listing the directory, never by joining names from a request, and a file that resolves
outside the directory (a symlink out) is left out with a notice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel

from comem.core.errors import ComemError
from comem.core.jsonlog import TRAJECTORY_RECORDS, read_jsonl
from comem.core.records import EpisodeEnd, EpisodeStart, MemoryRecord, Step
from comem.eval.results import RESULTS_FILE, TRAJECTORIES_DIR, EpisodeResult, read_results, trajectory_path
from comem.report.summary import arm_names

Kind = Literal["run", "replay"]
REPLAY_FILES = ("runs.jsonl", "steps.jsonl")
T = TypeVar("T")
_SEED = re.compile(r"^(?P<task>.+)\.seed(?P<seed>\d+)$")


@dataclass
class Lines:
    """The records of one JSONL file and what was wrong with it."""

    records: list
    bad: int = 0  # complete lines that did not parse
    torn: bool = False  # bytes after the last newline: a line still being written, or cut by a crash

    def notices(self, what: str) -> list[str]:
        out = []
        if self.torn:
            out.append(f"The last line of {what} is incomplete (still being written, or cut off by a crash); "
                       "it is not shown.")
        if self.bad:
            out.append(f"{self.bad} line{'s' if self.bad > 1 else ''} of {what} "
                       f"{'are' if self.bad > 1 else 'is'} not a valid record and skipped.")
        return out


def read_lines(path: Path, parse) -> Lines:
    """`read_jsonl` with bad lines skipped, counting what it skipped."""
    try:
        data = path.read_bytes()
    except OSError:
        return Lines([])
    records = read_jsonl(path, parse, on_bad="skip")
    complete = sum(1 for raw in data.split(b"\n")[:-1] if raw.strip())
    return Lines(records, bad=complete - len(records), torn=bool(data) and not data.endswith(b"\n"))


def trajectory_record(line: str) -> BaseModel:
    """One trajectory line as its typed record (an unknown `type` raises KeyError, skipped by the reader)."""
    return TRAJECTORY_RECORDS[json.loads(line)["type"]].model_validate_json(line)


def inside(root: Path, path: Path) -> bool:
    """`path` resolves (symlinks followed) to a place under `root`."""
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


@dataclass
class EpisodeRef:
    """One episode of a run or one gateway session: where its trajectory is and its result line, if any."""

    arm: str
    name: str  # the trajectory file's stem: <task>, <task>.seed<N>, or a session id
    path: Path
    result: EpisodeResult | None

    @property
    def task(self) -> str:
        if self.result is not None:
            return self.result.instance_id
        found = _SEED.match(self.name)
        return found["task"] if found else self.name

    @property
    def seed(self) -> int:
        if self.result is not None:
            return self.result.seed
        found = _SEED.match(self.name)
        return int(found["seed"]) if found else 0

    @property
    def key(self) -> tuple[str, int]:
        return self.task, self.seed

    @property
    def live(self) -> bool:
        """No result line yet: the episode is running, or was stopped before it ended."""
        return self.result is None


@dataclass
class RunIndex:
    """A run or gateway directory: its arms and episodes, from directory listings and results files only (the
    trajectories are read when an episode is shown)."""

    root: Path
    arms: list[str]
    episodes: list[EpisodeRef]
    notices: list[str] = field(default_factory=list)

    def find(self, arm: str, name: str) -> EpisodeRef | None:
        return next((e for e in self.episodes if e.arm == arm and e.name == name), None)

    def keys(self) -> list[tuple[str, int]]:
        """(task, seed) in first-seen order."""
        return list(dict.fromkeys(e.key for e in self.episodes))

    def by_key(self) -> dict[tuple[str, int], dict[str, EpisodeRef]]:
        out: dict[tuple[str, int], dict[str, EpisodeRef]] = {}
        for e in self.episodes:
            out.setdefault(e.key, {})[e.arm] = e
        return out


def kind_of(root: Path) -> Kind:
    """What `root` holds; a ComemError naming what to pass when it is none of the three layouts."""
    if not root.is_dir():
        raise ComemError(f"{root} is not a directory.",
                         fix="pass a directory written by `comem run`, `comem eval`, `comem bench replay` or "
                             "`comem serve`.")
    if any((root / name).is_file() for name in REPLAY_FILES):
        return "replay"
    if _arm_dirs(root):
        return "run"
    raise ComemError(f"{root} holds no run, replay or gateway sessions (no <arm>/results.jsonl, "
                     "<arm>/trajectories/ or runs.jsonl).",
                     fix="pass the --out directory of `comem run`, `comem eval`, `comem bench replay` or "
                         "`comem serve`.")


def _arm_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and ((p / RESULTS_FILE).is_file() or (p / TRAJECTORIES_DIR).is_dir()))


def index_run(root: Path) -> RunIndex:
    """Every episode of a run or gateway directory: each trajectory file with its result line (if any), and
    each result whose trajectory file is missing."""
    found = _arm_dirs(root)
    listed = [a for a in arm_names(root) if a in found]
    arms = listed + [a for a in found if a not in listed]
    episodes: list[EpisodeRef] = []
    notices: list[str] = []
    for arm in arms:
        arm_dir = root / arm
        notices += read_lines(arm_dir / RESULTS_FILE, EpisodeResult).notices(f"{arm}/{RESULTS_FILE}")
        results = {trajectory_path(arm_dir, r.instance_id, r.seed).stem: r  # the line the report counts
                   for r in read_results(arm_dir / RESULTS_FILE)}
        traj_dir = arm_dir / TRAJECTORIES_DIR
        files = sorted(traj_dir.glob("*.jsonl")) if traj_dir.is_dir() else []
        for path in files:
            if not inside(root, path):
                notices.append(f"{arm}/{TRAJECTORIES_DIR}/{path.name} points outside {root}; it is not shown.")
                continue
            episodes.append(EpisodeRef(arm, path.stem, path, results.pop(path.stem, None)))
        for name, result in results.items():
            episodes.append(EpisodeRef(arm, name, traj_dir / f"{name}.jsonl", result))
    return RunIndex(root, arms, episodes, notices)


@dataclass
class EpisodeData:
    """One episode's records as far as they could be read, and the notices that say what could not."""

    ref: EpisodeRef
    start: EpisodeStart | None
    steps: list[Step]
    memory: list[MemoryRecord]
    end: EpisodeEnd | None  # the result line, else the trajectory's own end line
    notices: list[str]

    @property
    def live(self) -> bool:
        return self.end is None

    @property
    def strategy(self) -> dict:
        return (self.start.config.get("strategy") or {}) if self.start else {}


def load_episode(ref: EpisodeRef) -> EpisodeData:
    what = f"{ref.arm}/{TRAJECTORIES_DIR}/{ref.path.name}"
    if not ref.path.is_file():
        return EpisodeData(ref, None, [], [], ref.result, [f"{what} is missing: only the result line is shown."])
    lines = read_lines(ref.path, trajectory_record)
    notices = lines.notices(what)
    start = next((r for r in lines.records if isinstance(r, EpisodeStart)), None)
    steps: dict[int, Step] = {}
    memory: dict[int, MemoryRecord] = {}
    end = ref.result
    for record in lines.records:
        if isinstance(record, Step):
            steps.setdefault(record.index, record)
        elif isinstance(record, MemoryRecord):
            memory[record.id] = record  # a record is written when it settles; a later line is newer
        elif isinstance(record, EpisodeEnd) and end is None:
            end = record
    ordered = [steps[i] for i in sorted(steps)]
    if [s.index for s in ordered] != list(range(len(ordered))):
        notices.append(f"{what} skips steps (recorded: {', '.join(str(s.index) for s in ordered)}); contexts are "
                       "shown only up to the first gap.")
    if start is None:
        notices.append(f"{what} has no episode start line: the prompts are unknown, so contexts are not shown.")
    if end is None:
        notices.insert(0, "No result yet: this episode is still running, or was stopped before it ended. The page "
                       "refreshes as new lines arrive.")
    elif ref.result is None:
        notices.append(f"{ref.arm}/{RESULTS_FILE} has no line for this episode; its trajectory's end line is shown.")
    return EpisodeData(ref, start, ordered, [memory[i] for i in sorted(memory)], end, notices)


def stamp(path: Path) -> str:
    """Changes when the file does: what a live page polls."""
    try:
        info = path.stat()
    except OSError:
        return "missing"
    return f"{info.st_size}-{info.st_mtime_ns}"
