"""Resumable, bounded-concurrency model calls: the teacher and `comem eval-memory` both run many independent
requests that may take hours against a remote server.

Each finished item is appended to a JSONL checkpoint and fsynced before the next is reported, so a crash or
Ctrl-C loses only the requests in flight; a rerun reads the checkpoint and skips every key already there.
Failures are not written (a rerun retries them): they are counted and returned with their messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from comem.core.concurrency import bounded
from comem.core.jsonlog import append_jsonl, read_jsonl

T = TypeVar("T", bound=BaseModel)


class Checkpoint(Generic[T]):
    """An append-only JSONL file of finished items of one kind, keyed by `key(item)`."""

    def __init__(self, path: Path, kind: type[T], key: Callable[[T], Hashable]) -> None:
        self.path, self.kind, self.key = path, kind, key
        self.done: dict[Hashable, T] = {key(item): item for item in read_jsonl(path, kind)}

    def append(self, item: T) -> None:
        append_jsonl(self.path, [item])  # one whole line, fsynced
        self.done[self.key(item)] = item


@dataclass
class JobReport:
    """What one pass did: items finished now, items skipped as already done, and failures with their messages."""

    finished: int = 0
    skipped: int = 0
    errors: list[tuple[Hashable, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


async def run_jobs(
    jobs: Sequence[tuple[Hashable, Callable[[], Awaitable[T]]]],
    checkpoint: Checkpoint[T],
    *,
    concurrency: int,
    on_progress: Callable[[int, int], None] | None = None,
    on_error: Callable[[Hashable, str], None] | None = None,
) -> JobReport:
    """Run the jobs whose keys are not in `checkpoint`, at most `concurrency` at a time, in the given order.

    A job that raises is counted and reported through `on_error`; it never stops the others. `on_progress`
    gets (done, total) after every item, counting skipped ones as done.
    """
    report = JobReport()
    todo = [(key, make) for key, make in jobs if key not in checkpoint.done]
    report.skipped = len(jobs) - len(todo)
    progress = on_progress or (lambda done, total: None)
    progress(report.skipped, len(jobs))

    def tick() -> None:
        progress(report.skipped + report.finished + report.failed, len(jobs))

    def done(job: tuple[Hashable, Callable[[], Awaitable[T]]], item: T) -> None:
        checkpoint.append(item)
        report.finished += 1
        tick()

    def failed(job: tuple[Hashable, Callable[[], Awaitable[T]]], exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"  # one bad record must not end a long batch; it is reported
        report.errors.append((job[0], message))
        if on_error is not None:
            on_error(job[0], message)
        tick()

    await bounded(todo, lambda job: job[1](), concurrency, done, failed)
    return report
