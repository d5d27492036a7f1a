"""One episode under a hard time limit (the engine runs `concurrency` of them at once with core.concurrency).

The time limit covers the whole episode (environment, agent loop, grading). When it strikes, the episode is
cancelled — its tool processes are killed and its environment closed by the episode's own cleanup — and its
result is an EpisodeEnd with exit reason `time_limit`, built from the steps the trajectory file recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from comem.core.jsonlog import append_jsonl, read_records
from comem.core.records import EpisodeEnd, MemoryRecord, Step
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
    except TimeoutError:
        if not timeout.expired():
            raise  # a TimeoutError of the episode's own making is a bug to see, not a time limit
        end = _timed_out(episode, config, path, time.monotonic() - started)
    return EpisodeResult(**end.model_dump(), seed=episode.seed)


def _timed_out(episode: Episode, config: EvalConfig, path: Path, wall_s: float) -> EpisodeEnd:
    """The end record of an episode cut off by the time limit; also appended to its trajectory."""
    records = read_records(path) if path.exists() else []
    limit = config.episode_timeout_s
    end = episode_end(
        episode.task_id, episode.arm.key, "time_limit",
        [r for r in records if isinstance(r, Step)], [r for r in records if isinstance(r, MemoryRecord)],
        wall_s=wall_s, error=f"episode time limit of {limit:g} s reached",
        resolved=False if config.grade else None,
        grade_error="not graded: the episode hit its time limit" if config.grade else None,
    )
    append_jsonl(path, [end])
    return end
