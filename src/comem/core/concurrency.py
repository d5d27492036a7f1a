"""Bounded concurrency: many independent jobs (episodes, model calls), at most N in flight, started in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


async def bounded(items: Iterable[J], run: Callable[[J], Awaitable[R]], concurrency: int,
                  on_done: Callable[[J, R], None] | None = None,
                  on_error: Callable[[J, Exception], None] | None = None) -> None:
    """Run `run(item)` for every item, at most `concurrency` at once, started in the given order; `on_done` sees
    each result as it lands.

    Without `on_error` the first job that raises stops the rest (they are cancelled) and its exception propagates
    as is. With it, a job that raises is reported to `on_error` and the others go on.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # workers share one iterator, so jobs start in order
            try:
                result = await run(item)
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(item, exc)
            else:
                if on_done is not None:
                    on_done(item, result)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except BaseExceptionGroup as grouped:
        raise grouped.exceptions[0] from None
