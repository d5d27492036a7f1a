"""The one engine behind `comem run` and `comem eval`: resume, open the models, run the episodes, record them.

Layout of a run directory:
    config.yaml                                 the resolved configuration (arms of earlier runs kept)
    logs/{agent,memory}-server.log              embedded server logs
    incidents.log                               a model server that died (and was restarted), one line each
    <arm>/trajectories/<task>[.seed<N>].jsonl   steps + memory updates, appended as they happen
    <arm>/results.jsonl                         one EpisodeResult (EpisodeEnd + seed) per ended episode
Arms run on equal hardware: with embedded servers, the arms without a memory model run first with the agent on
every core, then the memory arms with the cores split (`hardware_groups`).
A rerun into the same directory skips the (task, seed) pairs that have a finished result and runs the others
(none yet, or one that raised: `EpisodeEnd.finished`) from scratch. SIGTERM stops like Ctrl-C: episodes in
flight are cancelled (their tools killed, their environments closed), embedded servers are stopped, finished
results stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from comem.context import validate_arm
from comem.core.concurrency import bounded
from comem.core.errors import ComemError
from comem.core.jsonlog import RunLock, check_resume, read_settings
from comem.core.records import Step
from comem.eval.results import RESULTS_FILE, EpisodeResult, ResultsFile, read_results, record_incident, trajectory_path
from comem.eval.scheduler import run_one
from comem.eval.suite import Episode, EvalConfig
from comem.llm.base import LLM
from comem.llm.endpoint import Endpoint, on_agent_engine
from comem.llm.open import Revived, engine_slots, open_memory, open_model

Executor = Literal["local", "ray"]


class Interrupted(Exception):
    """SIGTERM arrived; the run stopped cleanly (the CLI treats it like Ctrl-C)."""




@dataclass
class Events:
    """What a progress display hears. `done(..., skipped=True)` reports a result found from an earlier run."""

    done: Callable[[Episode, EpisodeResult, bool], None] = lambda episode, result, skipped: None
    step: Callable[[Episode, Step], None] = lambda episode, step: None


@dataclass
class LocalExecutor:
    """Episodes as asyncio tasks in this process. `agent_for(seed)` gives the episode its own agent client."""

    config: EvalConfig
    out: Path
    agent_for: Callable[[int], LLM]
    memory: LLM | None
    events: Events = field(default_factory=Events)

    async def __call__(self, episode: Episode) -> EpisodeResult:
        agent = self.agent_for(episode.seed)
        path = trajectory_path(self.out / episode.arm.key, episode.task_id, episode.seed)
        try:
            return await run_one(episode, agent, self.memory, self.config, path,
                                 on_step=lambda step: self.events.step(episode, step))
        finally:
            await agent.aclose()


async def drive(config: EvalConfig, out: Path, todo: list[Episode], run: Callable[[Episode], Any],
                events: Events) -> None:
    """Schedule `todo` and append each result to its arm's results file the moment it lands."""
    files = {arm.key: ResultsFile(out / arm.key / RESULTS_FILE) for arm in config.arms}

    def record(episode: Episode, result: EpisodeResult) -> None:
        files[episode.arm.key].append(result)
        events.done(episode, result, False)
        if result.exit_reason == "llm_unreachable":  # the agent's server is gone: every episode would end so
            raise ComemError(f"The agent model server stopped answering: {result.error}",
                             fix=f"see {out / 'logs' / 'agent-server.log'} (an embedded server) or check the server "
                                 f"at its URL; then rerun with --out {out} to run the unfinished episodes.")

    await bounded(todo, run, config.concurrency, record)  # run_one turns an episode's exception into its record


def prepare(config: EvalConfig, out: Path, episodes: list[Episode], events: Events) -> list[Episode]:
    """Write config.yaml (after checking a resumed directory ran the same settings); return what is left to do."""
    write_config(out, config)
    finished = {arm.key: {r.key: r for r in read_results(out / arm.key / RESULTS_FILE)} for arm in config.arms}
    todo = []
    for episode in episodes:
        found = finished[episode.arm.key].get((episode.task_id, episode.seed))
        if found is None or not found.finished:
            todo.append(episode)
        else:
            events.done(episode, found, True)
    return todo


def _flat(settings: dict[str, Any], section: str) -> dict[str, Any]:
    return {f"{section}.{k}": v for k, v in (settings.get(section) or {}).items()}


def _models(settings: dict[str, Any], *, memory: bool) -> dict[str, Any]:
    """Which weights played each role, and how they decoded: a resumed run must not mix two agents' results
    (threads and URLs may move). The memory model counts only where an arm used one: memory arms may join a run that
    had none. A LoRA path counts as the absolute path it names (`./a.gguf` and `a.gguf` are one file; adapters.json
    has its content). Request options missing from a directory saved before them were none."""
    roles = ("agent", "memory") if memory else ("agent",)
    models = {key: value and os.path.abspath(value) if key.endswith(".lora") else value
              for role in roles for key, value in _flat(settings, role).items() if key.endswith((".model", ".lora"))}
    return {**models, **{f"{role}.request_options": (settings.get(role) or {}).get("request_options") or {}
                         for role in roles}}


def _adapters(config: EvalConfig) -> dict[str, str]:
    """The content hash of each LoRA adapter in use (`adapters.json`): one retrained at the same path is other
    weights, which the config's `.lora` path alone does not show."""
    roles = {"agent": config.agent, **({"memory": config.memory} if config.needs_memory() else {})}
    return {f"{role}.lora_sha256": spec.adapter_sha256() for role, spec in roles.items() if spec.lora is not None}


def write_config(out: Path, config: EvalConfig) -> None:
    """Refuse to mix results made with other settings under one arm name; keep the arms of earlier runs."""
    path, adapters = out / "config.yaml", _adapters(config)
    data = config.model_dump(mode="json")
    old = read_settings(path)
    if old is not None:
        old_arms = {arm.key: arm for arm in map(validate_arm, old.get("arms") or [])}
        new = {arm.key: arm for arm in config.arms}
        old_memory = any(arm.needs_memory() for arm in old_arms.values())
        old_adapters = {key: value for key, value in (read_settings(out / "adapters.json") or {}).items()
                        if old_memory or not key.startswith("memory.")}
        merged = check_resume(
            out, {**_flat(data, "loop"), **_models(data, memory=True), **adapters},
            {**_flat(old, "loop"), **_models(old, memory=old_memory), **old_adapters},
            {key: arm.settings() for key, arm in new.items()}, {key: arm.settings() for key, arm in old_arms.items()},
            what="configuration", label_noun="arm")
        data["arms"] = [new.get(key, old_arms.get(key)).model_dump(mode="json") for key in merged]
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (out / "adapters.json").write_text(json.dumps(adapters, indent=2) + "\n", encoding="utf-8")


@contextlib.asynccontextmanager
async def open_models(config: EvalConfig, out: Path, todo: list[Episode]) -> AsyncIterator[
        tuple[Endpoint, Endpoint | None, LLM | None]]:
    """Start or reach the agent and (if an arm needs it) the memory model, sized for `concurrency` requests."""
    need_memory = any(e.arm.needs_memory() for e in todo)
    agent_threads, memory_threads = config.thread_plan(need_memory)
    slots = engine_slots(config.memory, need_memory, config.concurrency)
    async with contextlib.AsyncExitStack() as stack:
        agent = await stack.enter_async_context(
            open_model(config.agent, "agent", out / "logs", agent_threads, n_parallel=slots))
        memory = await stack.enter_async_context(
            open_memory(config.memory, agent, out / "logs", memory_threads, n_parallel=config.concurrency,
                        on_restart=lambda line: record_incident(out, line))  # not a silent run without memory
        ) if need_memory else None
        yield (Endpoint.of(agent, config.agent), Endpoint.of(memory, config.memory) if memory else None, memory)


async def run_suite(config: EvalConfig, out: Path, episodes: list[Episode], events: Events | None = None, *,
                    executor: Executor = "local", ray_address: str | None = "auto") -> None:
    """Run every episode of `episodes` that has no result in `out` yet (see the module docstring)."""
    events = events or Events()
    with RunLock(out), contextlib.ExitStack() as stack:
        todo = prepare(config, out, episodes, events)
        if not todo:
            return
        if executor == "ray":  # connect first: a missing cluster should fail before models load
            from comem.eval import ray_executor

            ray = stack.enter_context(ray_executor.connect(ray_address))
            used = [config.agent, *([config.memory] if any(e.arm.needs_memory() for e in todo) else [])]
            ray_executor.check_reachable(ray, [m.model for m in used if not m.url and not on_agent_engine(m)])
        # after ray.init, which installs a SIGTERM handler of its own (a stack dump and an abrupt exit)
        stack.enter_context(_sigterm_interrupts())
        for group in hardware_groups(config, todo):
            async with open_models(config, out, group) as (agent, memory_endpoint, memory):
                run = (ray_executor.RayExecutor(ray, config, out, agent, memory_endpoint,
                                                supervised=memory if isinstance(memory, Revived) else None)
                       if executor == "ray" else LocalExecutor(config, out, agent.client, memory, events))
                await drive(config, out, group, run, events)


def hardware_groups(config: EvalConfig, todo: list[Episode]) -> list[list[Episode]]:
    """Equal hardware for every arm: the arms without a memory model run first, their agent server on every core;
    then the memory arms, with the cores split between the agent and memory servers (`thread_plan`). One group
    when the split changes nothing: a remote agent, a remote memory model, or thread counts set by the user."""
    plain = [e for e in todo if not e.arm.needs_memory()]
    memory = [e for e in todo if e.arm.needs_memory()]
    if not plain or not memory or not _splits(config):
        return [todo]
    return [plain, memory]


def _splits(config: EvalConfig) -> bool:
    return config.thread_plan(True)[0] != config.thread_plan(False)[0]


def arm_threads(config: EvalConfig) -> tuple[int, int, int | None]:
    """The CPU threads of (the arms without memory's agent, the memory arms' agent, their memory model) in a run
    of both kinds (`hardware_groups`); the last is None where the memory model is served elsewhere, 0 where it
    shares the agent's engine (`memory: agent`)."""
    agent, memory = config.thread_plan(True)
    if on_agent_engine(config.memory):
        return agent, agent, 0
    return (config.thread_plan(False)[0] if _splits(config) else agent), agent, (None if config.memory.url else memory)


@contextlib.contextmanager
def _sigterm_interrupts():
    """Turn SIGTERM into a cancellation of the running suite, so every cleanup runs (as on Ctrl-C)."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    hit: list[bool] = []

    def stop() -> None:
        hit.append(True)
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    except asyncio.CancelledError:
        if hit and task is not None:
            task.uncancel()  # handled here: it becomes Interrupted, not a cancellation of the caller
            raise Interrupted("SIGTERM") from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
