"""Bounded concurrency: at most N in flight, started in order; fail-fast, or report and go on."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from comem.core.concurrency import bounded


def jobs(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(task_id=f"t{i}") for i in range(n)]


def test_at_most_concurrency_in_flight_started_in_plan_order() -> None:
    started, finished, in_flight, peak = [], [], [0], [0]

    async def run(episode: SimpleNamespace) -> str:
        started.append(episode.task_id)
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.01 * (int(episode.task_id[1:]) % 3 + 1))
        in_flight[0] -= 1
        return episode.task_id.upper()

    episodes = jobs(8)
    asyncio.run(bounded(episodes, run, 3, lambda episode, result: finished.append((episode.task_id, result))))
    assert started == [e.task_id for e in episodes] and peak[0] == 3
    assert sorted(finished) == [(f"t{i}", f"T{i}") for i in range(8)]


def test_the_first_failure_stops_the_rest_and_propagates() -> None:
    started, cancelled = [], []

    async def run(episode: SimpleNamespace) -> None:
        started.append(episode.task_id)
        if episode.task_id == "t1":
            raise ValueError("broken harness")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(episode.task_id)
            raise

    with pytest.raises(ValueError, match="broken harness"):
        asyncio.run(bounded(jobs(4), run, 2, lambda episode, result: None))
    assert started == ["t0", "t1"] and cancelled == ["t0"]  # no job started after the failure; t0 was cancelled


def test_with_on_error_a_failure_is_reported_and_the_rest_go_on() -> None:
    async def run(job: SimpleNamespace) -> str:
        if job.task_id == "t1":
            raise ValueError("bad record")
        return job.task_id

    done, failed = [], []
    asyncio.run(bounded(jobs(4), run, 2, lambda job, result: done.append(result),
                        lambda job, exc: failed.append((job.task_id, str(exc)))))
    assert sorted(done) == ["t0", "t2", "t3"] and failed == [("t1", "bad record")]


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        asyncio.run(bounded(jobs(1), asyncio.sleep, 0))
