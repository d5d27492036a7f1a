"""One episode under a hard time limit (the engine runs `concurrency` of them at once with core.concurrency).

The time limit covers the whole episode (environment, agent loop, grading). When it strikes, the episode is
cancelled — its tool processes are killed and its environment closed by the episode's own cleanup — and its
result is an EpisodeEnd with exit reason `time_limit`, built from the steps the trajectory file recorded. An
episode that raises ends the same way with exit reason `error`: recorded, never stopping the other episodes, and
not a result (`EpisodeEnd.finished`), so a rerun retries it.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from comem.core.jsonlog import append_jsonl, read_records
from comem.core.records import EpisodeEnd, ExitReason, MemoryRecord, Step
from comem.eval.episode import episode_end, run_episode
from comem.eval.results import EpisodeResult
from comem.eval.suite import Episode, EvalConfig
from comem.llm.base import LLM

R = TypeVar("R")


async def run_one(episode: Episode, agent: LLM, memory: LLM | None, config: EvalConfig, path: Path,
                  on_step: Callable[[Step], None] | None = None) -> EpisodeResult:
    """One episode into the trajectory file `path` (rewritten from scratch), under `config.episode_timeout_s`."""
    started = time.monotonic()
    timeout = asyncio.timeout(config.episode_timeout_s)
    try:
        async with timeout:
            end = await run_episode(
                episode.task, episode.arm, agent, memory if episode.arm.needs_memory() else None, config.loop, path,
                bash_timeout_s=config.bash_timeout_s, do_grade=config.grade, on_step=on_step,
            )
    except TimeoutError as exc:
        if not timeout.expired():
            end = _cut_short(episode, path, time.monotonic() - started, "error", _described(exc))
        else:
            end = _cut_short(episode, path, time.monotonic() - started, "time_limit",
                             f"episode time limit of {config.episode_timeout_s:g} s reached",
                             graded=config.grade)
    except Exception as exc:  # a bug or a broken environment: this episode's record, not the run's end
        end = _cut_short(episode, path, time.monotonic() - started, "error", _described(exc))
    return EpisodeResult(**end.model_dump(), seed=episode.seed)


def _described(exc: BaseException) -> str:
    """The exception and where it was raised, for the record of an episode that raised."""
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _cut_short(episode: Episode, path: Path, wall_s: float, reason: ExitReason, error: str, *,
               graded: bool = False) -> EpisodeEnd:
    """The end record of an episode that did not end by itself (time limit, exception), built from what its
    trajectory recorded, and appended to it. With `graded`, it counts as unresolved."""
    records = read_records(path) if path.exists() else []
    end = episode_end(
        episode.task_id, episode.arm.key, reason,
        [r for r in records if isinstance(r, Step)], [r for r in records if isinstance(r, MemoryRecord)],
        wall_s=wall_s, error=error, resolved=False if graded else None,
        grade_error=f"not graded: {error}" if graded else None,
    )
    append_jsonl(path, [end])
    return end
