"""The one append-only JSONL log every resumable job writes: trajectories, eval results, replay rows, training
checkpoints, eval-memory scores.

Crash safety rests on three rules:

- a record is appended as one whole line (`write` of line + newline on an O_APPEND descriptor) and fsynced
  before it counts as done;
- a line counts once its newline is on disk: readers ignore the bytes after the last newline (a torn tail);
- before appending again a writer cuts a torn tail, so a new line never glues onto a half-written one.

A complete line that does not parse cannot come from a crash, so readers raise on it by default; a reader that
shares its file with other writers may skip such lines instead (`on_bad="skip"`).

A resumed job must not mix rows made with other settings: `check_resume` compares the settings a run saved with
the rerun's. `RunLock` keeps a second writer out of a run directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from comem.core.errors import ComemError
from comem.core.records import EpisodeEnd, EpisodeStart, MemoryRecord, Step

T = TypeVar("T")
OnBad = Literal["error", "skip"]


def cut_torn_tail(path: Path, chunk: int = 1 << 16) -> None:
    """Drop the bytes after the last newline (a line a crash cut short). Reads backwards from the end, so a log
    that ends cleanly costs one byte however long it is."""
    if not path.exists():
        return
    with path.open("rb+") as fh:
        end = fh.seek(0, os.SEEK_END)
        pos = end
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            newline = fh.read(pos - start).rfind(b"\n")
            if newline != -1:
                keep = start + newline + 1
                break
            pos = start
        else:
            keep = 0
        if keep < end:
            fh.truncate(keep)
            os.fsync(fh.fileno())


class JsonlLog:
    """Appends records to one JSONL file, a whole line per record, fsynced.

    By default `append` returns once the line is on disk. With `background=True` (trajectories, written from
    the event loop at every step) the records are serialised at once, so later changes to them are not seen,
    and a thread writes and fsyncs them in order: `append` never blocks the event loop on the disk, a crash
    can lose the lines still queued (milliseconds of work), and `close` returns once every line is on disk.
    """

    def __init__(self, path: Path, *, background: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        cut_torn_tail(path)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._queue: queue.SimpleQueue[bytes | None] | None = None
        self._failure: OSError | None = None
        if background:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._drain, name=f"jsonlog:{path.name}", daemon=True)
            self._thread.start()

    def append(self, *records: BaseModel) -> None:
        """Write the records (several go in one write, so a crash keeps all or a torn tail) and fsync."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        if self._failure is not None:
            raise self._failure
        data = "".join(r.model_dump_json() + "\n" for r in records)
        if self._queue is not None:
            self._queue.put(data.encode("utf-8"))
        else:
            self._write(data.encode("utf-8"))

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:  # a regular file takes it in one write; loop only for the rare short write
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def _drain(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            try:
                self._write(data)
            except OSError as exc:  # disk full, ...: reported to the writer's next append or close
                self._failure = exc

    def close(self) -> None:
        if self._queue is not None and self._fd is not None:
            self._queue.put(None)
            self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append_jsonl(path: Path, records: Iterable[BaseModel]) -> None:
    """Open, append `records` as one write, close: for files written a batch at a time."""
    with JsonlLog(path) as log:
        log.append(*records)


def read_jsonl(path: Path, parse: type[T] | Callable[[str], T], *, on_bad: OnBad = "error") -> list[T]:
    """The records of the complete lines of `path` (none if it does not exist), in file order.

    `parse` is a pydantic model class or a function of the line's text. A complete line that does not parse is
    an error naming the file and line, or skipped with `on_bad="skip"`. Blank lines are skipped.
    """
    if not path.is_file():
        return []
    if isinstance(parse, type) and issubclass(parse, BaseModel):
        model = parse
        parse = model.model_validate_json  # type: ignore[assignment]
    out: list[T] = []
    complete = path.read_bytes().split(b"\n")[:-1]  # the last piece is "" or a torn tail
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            out.append(parse(raw.decode("utf-8")))  # type: ignore[operator]  # not UTF-8: a bad line like any other
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            if on_bad == "skip":
                continue
            raise ComemError(f"{path}:{number} is not a valid record ({_short(exc)}).",
                             fix=f"delete {path} to start over, or point --out at a fresh directory.") from None
    return out


TRAJECTORY_RECORDS: dict[str, type[BaseModel]] = {
    "step": Step, "memory": MemoryRecord, "episode_start": EpisodeStart, "episode_end": EpisodeEnd,
}


def read_records(path: Path) -> list[BaseModel]:
    """A trajectory file as typed records, from its complete lines; a line that is not JSON is skipped, a JSON
    record of unknown type or shape raises (KeyError, ValidationError), bytes that are not UTF-8 raise
    UnicodeDecodeError: the caller says which file is not a trajectory."""
    out: list[BaseModel] = []
    for raw in path.read_bytes().split(b"\n")[:-1]:
        line = raw.decode("utf-8")
        try:
            data = json.loads(line)
        except ValueError:
            continue
        out.append(TRAJECTORY_RECORDS[data["type"]].model_validate(data))
    return out


def check_resume(where: Path, fixed: Mapping[str, Any], saved_fixed: Mapping[str, Any] | None,
                 labelled: Mapping[str, Any] | None = None, saved_labelled: Mapping[str, Any] | None = None,
                 *, what: str = "settings", label_noun: str = "label") -> dict[str, Any]:
    """Refuse to resume the run in `where` with other settings than it was made with; return the merged labels.

    `fixed` must equal `saved_fixed` on the keys saved then (a setting added since is no change). `labelled`
    maps labels (arms, memory models) to their settings: a label saved then must keep them; new labels join.
    The merged mapping keeps the saved labels first, in their order. Nothing saved (`None`): a new run.
    """
    saved_fixed, saved_labelled = saved_fixed or {}, dict(saved_labelled or {})
    labelled = dict(labelled or {})
    changed = [f"{key}: {saved_fixed[key]!r} -> {fixed[key]!r}" for key in saved_fixed
               if key in fixed and fixed[key] != saved_fixed[key]]
    changed += [f"{label_noun} {label!r}: {saved_labelled[label]!r} -> {value!r}" for label, value in labelled.items()
                if label in saved_labelled and saved_labelled[label] != value]
    if changed:
        raise ComemError(f"{where} holds results made with a different {what} ({'; '.join(changed)}).",
                         fix="rerun with the same settings, give new settings their own label, or use a new "
                             "--out directory.")
    return {**saved_labelled, **labelled}


def read_settings(path: Path) -> dict[str, Any] | None:
    """A settings file a run saved (JSON, or YAML by suffix); None when there is none."""
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ComemError(f"{path} is unreadable ({exc}).", fix="point --out at a fresh directory.") from None
    if not isinstance(data, dict):
        raise ComemError(f"{path} is not a settings file.", fix="point --out at a fresh directory.")
    return data


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))
    return f"{type(exc).__name__}: {exc}"


class RunLock:
    """One writer per run directory: two drivers appending to the same logs would race on resume."""

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
            raise ComemError(f"Another comem job is writing to {self.path.parent}.",
                             fix="wait for it to finish, or pass a different --out.") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
