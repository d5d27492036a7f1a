"""`comem bench replay`: every arm, at every concurrency, replays the same recorded trajectories.

N agents run in closed loop on one agent engine (and one memory engine): each agent replays its trajectory
step by step, sleeping the recorded tool time between calls. Arm order is shuffled per repeat (seeded) and every
(arm, repeat, agent) has its own cache session, so no arm inherits another's warm cache. Rows are appended when a
run (one arm at one concurrency) completes; rerunning into the same directory skips completed runs.

Equal hardware: on embedded servers every arm gets the same cores. An arm without a memory model runs its agent
server on all of them; a memory arm splits them between its agent and memory servers (`thread_plan`). Servers are
(re)started per group of arms that share a split. `extra_hardware` adds `full@agent-cores` (the baseline on the
memory arms' agent cores only) for the paper's "memory on extra hardware" figure, which the report shows beside the
equal one; `instant_star` adds each memory arm's instant-memory twin, the run its S* comes from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from comem.bench.figures import trajectory_walls
from comem.bench.records import MemoryRow, RunTiming, StepRow
from comem.bench.replay.arms import DEFAULT_ARMS, ReplayArm, extra_hardware_baseline, instant_twin, parse_arm
from comem.bench.replay.driver import InstantMemory, replay_trajectory
from comem.bench.replay.engine_counters import hit_rate, read_prefix_counters
from comem.context.base import Clock, estimate_tokens
from comem.context.mask import MaskConfig
from comem.context.memory import MemorySettings
from comem.core.config import StrictModel, default_of
from comem.core.errors import ComemError
from comem.core.jsonlog import append_jsonl, check_resume, read_jsonl, read_settings
from comem.core.records import MemoryView
from comem.llm.base import LLM
from comem.llm.endpoint import ModelConfig, on_agent_engine, thread_plan
from comem.llm.open import engine_slots, open_memory, open_model
from comem.trajectories.sources import RecordedTrajectory

RESULT_FILES = ("steps.jsonl", "memory.jsonl", "runs.jsonl")


class ReplayConfig(StrictModel):
    """What a replay runs. The models default to `ModelConfig`'s (those of `comem run`); the strategy options
    default to the strategies' own, except the summary length, which a replay forces (short, so CPU replays of
    every arm stay quick; pass --memory-max-tokens for the length your deployment uses)."""

    source: str | None = None  # a `comem run` dir, trajectory file, SWE-agent .traj, R2E-Gym JSONL; None: sample
    trajectories: int = Field(default=2, ge=1)  # how many to load (or generate)
    steps: int | None = Field(default=None, ge=1)  # replay only the first N steps of each
    arms: list[str] = Field(default_factory=lambda: list(DEFAULT_ARMS))
    concurrency: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1], min_length=1)
    repeats: int = Field(default=1, ge=1)
    output_tokens: int | None = Field(default=None, ge=1)  # forced agent output per call; None: recorded length
    memory_max_tokens: int = Field(default=64, ge=1)  # forced summary length
    memory_input: Literal["from_scratch", "incremental"] = default_of(MemorySettings, "memory_input")
    memory_view: MemoryView = default_of(MemorySettings, "memory_view")  # ledger/recent: no memory model at all
    ledger_tokens: int = Field(default=default_of(MemorySettings, "ledger_tokens"), ge=16)
    keep_last: int = Field(default=default_of(MaskConfig, "keep_last"), ge=0)
    tool_scale: float = Field(default=1.0, ge=0.0)
    tool_time_s: float | None = Field(default=None, ge=0.0)  # replace every recorded tool time
    agent: ModelConfig = Field(default_factory=ModelConfig)
    memory: ModelConfig = Field(default_factory=ModelConfig)
    extra_hardware: bool = False  # also run full@agent-cores, for the "memory on extra hardware" figure
    instant_star: bool = True  # S* from an instant-memory twin of each memory arm; False: from the same run
    seed: int = 0

    def replay_arms(self) -> list[ReplayArm]:
        """The arms as asked, then the twins the report needs beside them (see the module docstring)."""
        options = {"memory_max_tokens": self.memory_max_tokens, "memory_input": self.memory_input,
                   "memory_view": self.memory_view, "ledger_tokens": self.ledger_tokens, "keep_last": self.keep_last}
        arms = [parse_arm(spec, options) for spec in self.arms]
        if len({a.label for a in arms}) != len(arms):
            raise ComemError(f"Arms repeat: {self.arms}.", fix="name each arm once.")
        twins = [instant_twin(a) for a in arms if self.instant_star and a.strategy.needs_memory()]
        if self.extra_hardware:
            twins.append(extra_hardware_baseline())
        return arms + twins

    def workload_key(self) -> dict[str, object]:
        """Settings that must match for rows of two invocations to be comparable."""
        return self.model_dump(mode="json", exclude={"arms", "concurrency", "repeats", "extra_hardware",
                                                     "instant_star"})  # api keys: never dumped

    def threads(self, arm: ReplayArm) -> tuple[int, int | None]:
        """(agent, memory) threads of the embedded servers `arm` runs on; memory None: no memory server.

        Equal hardware: an arm without a memory model gets every core; a memory arm (and the extra-hardware
        baseline) gets the agent's share of the split, the memory server the rest. An instant-memory twin runs on
        the split's agent server and starts no memory server.
        """
        split = thread_plan(self.agent, self.memory, need_memory=True)
        if arm.instant_memory or arm.agent_cores_only:
            return split[0], None
        if arm.strategy.needs_memory():
            return split
        return thread_plan(self.agent, self.memory, need_memory=False)[0], None


def load_trajectories(config: ReplayConfig) -> list[RecordedTrajectory]:
    if config.source is None:
        from comem.bench.replay.sample import sample_trajectories

        recs = sample_trajectories(n=config.trajectories, steps=config.steps or 16, seed=config.seed)
    else:
        from comem.trajectories.sources import load_recorded

        recs = load_recorded(config.source, limit=config.trajectories)
    if config.steps is not None:
        recs = [r.model_copy(update={"steps": r.steps[: config.steps]}) for r in recs]
    return recs


def check_context(recs: list[RecordedTrajectory], config: ReplayConfig) -> None:
    """The full-history arms must fit the engine's context; say how to fix it before any engine starts."""
    for rec in recs:
        history = estimate_tokens(rec.system + rec.task) + sum(
            estimate_tokens(s.response + s.observation) + 16 for s in rec.steps)
        need = history + (config.output_tokens or 512)
        if need > config.agent.n_ctx:
            raise ComemError(
                f"Trajectory {rec.name!r} grows to about {need} tokens, above the agent context "
                f"({config.agent.n_ctx}).",
                fix="replay fewer steps (--steps) or raise --n-ctx (the model must support it).")


def completed_runs(out: Path) -> set[tuple[str, int, int]]:
    return {(run.arm, run.concurrency, run.repeat) for run in read_jsonl(out / "runs.jsonl", RunTiming)}


def prepare_out_dir(out: Path, config: ReplayConfig) -> None:
    """A new directory gets config.json; an existing one must hold the same workload, or rows would mix."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.json"
    previous = read_settings(path)
    if previous is not None:
        check_resume(out, {"workload": config.workload_key()}, {"workload": previous.get("workload")},
                     what="workload")
    path.write_text(json.dumps({"workload": config.workload_key(), "arms": config.arms,
                                "concurrency": config.concurrency, "repeats": config.repeats}, indent=2))


def arm_order(arms: list[ReplayArm], concurrency: int, repeat: int, seed: int) -> list[ReplayArm]:
    order = list(arms)
    random.Random(seed * 1_000_003 + concurrency * 1009 + repeat).shuffle(order)
    return order


async def replay_run(recs: list[RecordedTrajectory], arm: ReplayArm, concurrency: int, repeat: int,
                     agent: LLM, memory: LLM | None, config: ReplayConfig,
                     on_step: Callable[[StepRow], None] | None = None, counters_url: str | None = None,
                     threads: tuple[int | None, int | None] = (None, None),
                     ) -> tuple[list[StepRow], list[MemoryRow], RunTiming]:
    """One arm at one concurrency: N agents in closed loop share the trajectories.

    There are max(T, N) jobs, job j replaying trajectory j mod T; agent i runs jobs i, i + N, … one after
    another, so one agent replays every trajectory and N >= T agents replay one each, all starting together.
    `counters_url`: the agent engine's base URL, to read its prefix-cache counters (vLLM) around the run.
    `threads`: the (agent, memory) threads of the embedded servers, recorded with the rows.
    """
    if arm.instant_memory:
        memory = InstantMemory()
    elif not arm.strategy.needs_memory():
        memory = None
    before = await read_prefix_counters(counters_url) if counters_url else None
    clock = Clock()
    jobs = max(len(recs), concurrency)

    async def agent_loop(i: int) -> tuple[list[StepRow], list[MemoryRow]]:
        steps: list[StepRow] = []
        memory_rows: list[MemoryRow] = []
        for j in range(i, jobs, concurrency):
            s, m = await replay_trajectory(
                recs[j % len(recs)], arm, agent, memory, clock, agent=i,
                concurrency=concurrency, repeat=repeat, job=j, output_tokens=config.output_tokens,
                tool_scale=config.tool_scale, tool_time_s=config.tool_time_s, on_step=on_step)
            steps += s
            memory_rows += m
        return steps, memory_rows

    results = await asyncio.gather(*(agent_loop(i) for i in range(concurrency)))
    wall = clock.now()
    steps = [row.model_copy(update={"agent_threads": threads[0]}) for rows, _ in results for row in rows]
    memory_rows = [row for _, rows in results for row in rows]
    reported = [s for s in steps if s.cached_tokens is not None]
    run = RunTiming(
        arm=arm.label, concurrency=concurrency, repeat=repeat, wall_s=wall, steps=len(steps),
        trajectory_wall_s=sum(trajectory_walls(steps).values()), prompt_tokens=sum(s.prompt_tokens for s in steps),
        cached_tokens=sum(s.cached_tokens or 0 for s in reported) if reported else None,
        engine_cache_hit_rate=hit_rate(before, await read_prefix_counters(counters_url) if counters_url else None),
        agent_threads=threads[0], memory_threads=None if memory is None or arm.instant_memory else threads[1],
    )
    return steps, memory_rows, run


def server_groups(plan: list[tuple[int, int, ReplayArm]], config: ReplayConfig,
                  ) -> list[tuple[tuple[int, int | None], list[tuple[int, int, ReplayArm]]]]:
    """The plan cut into consecutive groups that run on the same servers, so servers restart only between groups.

    Within each (concurrency, repeat), arms keep their shuffled order, stably grouped by server split in the order
    the splits first appear (the shuffle also decides which split goes first).
    """
    groups: list[tuple[tuple[int, int | None], list[tuple[int, int, ReplayArm]]]] = []
    for key in dict.fromkeys((c, r) for c, r, _ in plan):
        runs = [p for p in plan if (p[0], p[1]) == key]
        for split in dict.fromkeys(config.threads(arm) for _, _, arm in runs):
            group = [p for p in runs if config.threads(p[2]) == split]
            if groups and groups[-1][0] == split:
                groups[-1][1].extend(group)
            else:
                groups.append((split, group))
    return groups


async def run_replay(config: ReplayConfig, out: Path,
                     progress: Callable[[str, int, int], None] | None = None) -> None:
    """All (concurrency, repeat, arm) runs not yet in `out`; `progress(label, steps_done, steps_total)`."""
    arms = config.replay_arms()
    recs = load_trajectories(config)
    check_context(recs, config)
    prepare_out_dir(out, config)
    done = completed_runs(out)
    prune_incomplete(out)
    plan = [(c, r, arm) for c in config.concurrency for r in range(config.repeats)
            for arm in arm_order(arms, c, r, config.seed) if (arm.label, c, r) not in done]
    total = sum(sum(len(recs[j % len(recs)].steps) for j in range(max(len(recs), c))) for c, _, _ in plan)
    width = max(config.concurrency)
    forced = {"ignore_eos": True}  # exact output lengths: the recorded ones, the same in every arm
    finished = 0
    for (agent_threads, memory_threads), group in server_groups(plan, config):
        async with contextlib.AsyncExitStack() as stack:
            agent = await stack.enter_async_context(open_model(
                config.agent, "agent", out / "logs", agent_threads, extra_body=forced,
                n_parallel=engine_slots(config.memory, any(a.strategy.needs_memory() for _, _, a in group), width)))
            memory = await stack.enter_async_context(open_memory(
                config.memory, agent, out / "logs", memory_threads, n_parallel=width, extra_body=forced,
            )) if memory_threads is not None or on_agent_engine(config.memory) else None
            embedded = (None if config.agent.url else agent_threads,
                        None if config.memory.url or memory_threads is None else memory_threads)
            for c, r, arm in group:
                label = f"{arm.label} x{c}" + (f" r{r}" if config.repeats > 1 else "")

                def tick(row: StepRow, label: str = label) -> None:
                    nonlocal finished
                    finished += 1
                    if progress:
                        progress(f"{label} · {row.trajectory} step {row.step + 1}", finished, total)

                steps, memory_rows, run = await replay_run(recs, arm, c, r, agent, memory, config, tick,
                                                           counters_url=agent.base_url, threads=embedded)
                append_jsonl(out / "steps.jsonl", steps)
                append_jsonl(out / "memory.jsonl", memory_rows)
                append_jsonl(out / "runs.jsonl", [run])


def prune_incomplete(out: Path) -> None:
    """Drop rows of a run that was interrupted before its runs.jsonl line, so its rerun does not double them."""
    steps, memory, _ = read_rows(out)
    for name, rows in (("steps.jsonl", steps), ("memory.jsonl", memory)):
        path = out / name
        if path.exists():
            scratch = path.with_suffix(".jsonl.tmp")
            scratch.unlink(missing_ok=True)
            append_jsonl(scratch, rows)
            scratch.replace(path)  # all or nothing: a crash here leaves the old file


def read_rows(out: Path) -> tuple[list[StepRow], list[MemoryRow], list[RunTiming]]:
    """Rows of completed runs only (a run's rows are written together, its runs.jsonl line last)."""
    runs = read_jsonl(out / "runs.jsonl", RunTiming)
    keep = {(r.arm, r.concurrency, r.repeat) for r in runs}
    steps = [s for s in read_jsonl(out / "steps.jsonl", StepRow) if (s.arm, s.concurrency, s.repeat) in keep]
    memory = [m for m in read_jsonl(out / "memory.jsonl", MemoryRow) if (m.arm, m.concurrency, m.repeat) in keep]
    return steps, memory, runs
