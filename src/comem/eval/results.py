"""The results files of an evaluation: `<out>/<arm>/results.jsonl`, one line per finished (task, seed).

Crash safety rests on three rules. A line is appended with one `write` of the whole line on an O_APPEND
descriptor, then fsynced, before the episode counts as done. A line counts once its newline is on disk: readers
skip the bytes after the last newline (a torn tail) and malformed lines, and keep the first line of each (task,
seed), so nothing is counted twice. Before appending again the writer cuts a torn tail, so a new line never
glues onto a half-written one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pydantic import ValidationError

from comem.core.errors import ComemError
from comem.core.records import EpisodeEnd

RESULTS_FILE = "results.jsonl"
TRAJECTORIES_DIR = "trajectories"


class EpisodeResult(EpisodeEnd):
    """An episode's end record plus the seed it ran with (files without one, from older runs, mean seed 0)."""

    seed: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return self.instance_id, self.seed


def trajectory_path(arm_dir: Path, task_id: str, seed: int) -> Path:
    """`<task>.jsonl` for seed 0 (the `comem run` layout), `<task>.seed<N>.jsonl` for other seeds."""
    name = task_id if seed == 0 else f"{task_id}.seed{seed}"
    return arm_dir / TRAJECTORIES_DIR / f"{name}.jsonl"


def read_results(path: Path) -> list[EpisodeResult]:
    """The results in file order, one per (task, seed) — the first — skipping torn and malformed lines."""
    if not path.exists():
        return []
    seen: dict[tuple[str, int], EpisodeResult] = {}
    for line in path.read_bytes().split(b"\n")[:-1]:  # the last piece is "" or a torn tail: not a result yet
        try:
            result = EpisodeResult.model_validate_json(line)
        except (ValidationError, ValueError):
            continue  # blank, torn by a crash mid-write, or not ours
        seen.setdefault(result.key, result)
    return list(seen.values())


class ResultsFile:
    """Appends results of one arm; see the module docstring for why a crash can lose no finished line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            if keep < len(data):
                fh.truncate(keep)
                os.fsync(fh.fileno())

    def append(self, result: EpisodeResult) -> None:
        line = (result.model_dump_json() + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(line)
            while view:  # a regular file takes it in one write; loop only for the rare short write
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


class RunLock:
    """One writer per run directory: two drivers appending to the same results would race on resume."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kernel even on SIGKILL
        except BlockingIOError:
            os.close(fd)
            raise ComemError(f"Another `comem run`/`comem eval` is writing to {self.path.parent}.",
                             fix="wait for it to finish, or pass a different --out.") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
