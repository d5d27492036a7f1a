"""What every command shares: one way to print an error, to read a comma-separated option, to show progress."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, TypeVar, get_args

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from comem.core.errors import ComemError
from comem.core.records import MemoryView

console = Console()
MEMORY_VIEW_HELP = (f"What stands for summarised steps (sync, kso): {', '.join(get_args(MemoryView))}; ledger and "
                    "recent (the newest steps a line each) are extracted, with no memory model.")
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Bad input ends with one clear line naming the fix and exit code 2, never a traceback; Ctrl-C or SIGTERM
    ends with a line saying where the finished work is kept (exit 130)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ComemError as exc:
            message, fix = escape(exc.message), escape(exc.fix or "")  # `pip install 'x[extra]'` is not markup
            err.print(f"[bold red]error:[/] {message}" + (f"\n[bold]fix:[/] {fix}" if fix else ""))
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def interrupted(out: Path) -> typer.Exit:
    """The line printed when a resumable job is stopped, and the exit that follows it."""
    err.print(f"interrupted: finished work is kept in {out}; rerun with --out {out} to resume.")
    return typer.Exit(130)


def drop_none(tree: dict[str, Any]) -> dict[str, Any]:
    """Options not given (None), and mappings left empty, removed: what flags override in a config file."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out


def csv_list(value: str | None) -> list[str] | None:
    """`a, b,,c` -> ['a', 'b', 'c']; None or '' -> None (the option was not given)."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def int_list(value: str | None, flag: str, *, minimum: int | None = None) -> list[int] | None:
    """A comma-separated list of integers (each >= `minimum` when given), or a ComemError naming the flag."""
    items = csv_list(value)
    if items is None:
        return None
    try:
        values = [int(v) for v in items]
    except ValueError:
        values = []
    if not values or (minimum is not None and min(values) < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ComemError(f"{flag} takes comma-separated integers{bound}, got {value!r}.", fix=f"e.g. {flag} 1,2,4")
    return values


def progress_bar(*extra: ProgressColumn, transient: bool = False) -> Progress:
    """The progress display of long jobs: description, bar, done/total, elapsed time (and any `extra` columns)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), *extra,
                    console=console, transient=transient)


class Tracker:
    """What a resumable job reports into its progress display: progress, and failures that do not stop it."""

    def __init__(self, bar: Progress, job: TaskID) -> None:
        self.bar, self.job = bar, job

    def update(self, done: int, total: int, label: str | None = None) -> None:
        self.bar.update(self.job, completed=done, total=total, **({"description": label} if label else {}))

    def labelled(self, label: str, done: int, total: int) -> None:
        self.update(done, total, label)

    def failed(self, key: Hashable, message: str) -> None:
        self.bar.console.print(f"  [red]failed[/] {escape(str(key))}: {escape(message)}")


@contextlib.contextmanager
def resumable(out: Path, first: str, total: int | None = None) -> Iterator[Tracker]:
    """A progress display for a job that keeps its finished work in `out`: Ctrl-C stops it with one line saying
    how to resume, and exit code 130."""
    with progress_bar() as bar:
        try:
            yield Tracker(bar, bar.add_task(first, total=total))
        except KeyboardInterrupt:
            raise interrupted(out) from None
