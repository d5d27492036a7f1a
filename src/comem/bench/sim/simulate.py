"""Run the simulation: N agents per arm on fresh engines, and the concurrency x offload sweep.

Every arm at a given concurrency gets the same trajectories (agent i runs shape i), on engines started empty,
so differences between arms are the serving system's alone ("matched replay", docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import simpy

from comem.bench.figures import ArmFigures, episodes, figures
from comem.bench.records import MemoryRow, StepRow, TrajectoryShape
from comem.bench.sim.agents import Agent, Arm
from comem.bench.sim.config import SimConfig
from comem.bench.sim.engine import Engine, EngineSpec, EngineStats
from comem.bench.sim.workload import (
    cap_context,
    read_recorded,
    read_steps,
    shapes_from_distribution,
    shapes_from_recorded,
    shapes_from_replay,
)
from comem.core.errors import ComemError
from comem.core.metrics import BASELINE, EpisodeCost, ideal_speedup

DEFAULT_CONCURRENCY = (1, 8, 16, 32, 64, 128, 256)


@dataclass
class ArmRun:
    """One arm at one concurrency."""

    arm: str
    concurrency: int
    offload: bool
    steps: list[StepRow]
    memory: list[MemoryRow]
    wall_s: float  # until the last agent finished
    agent_stats: EngineStats
    memory_stats: EngineStats | None  # None when the memory model shares the agent's engine
    instant_memory: bool = False  # the S* run: the same arm with summaries that cost nothing


@dataclass
class SimResult:
    runs: list[ArmRun] = field(default_factory=list)

    @property
    def measured(self) -> list[ArmRun]:
        """The runs as measured (the instant-memory runs behind S* left out)."""
        return [r for r in self.runs if not r.instant_memory]

    @property
    def steps(self) -> list[StepRow]:
        return [s for r in self.measured for s in r.steps]

    def summaries(self, offload: bool = False) -> list[ArmFigures]:
        """Figures per arm and concurrency. S* (and so eta) of a memory arm comes from its instant-memory run
        when there is one: in the measured run, agents that wait on memory lighten the engine, so their calls
        are faster than with the memory hidden, and an S* from them would be too high (docs/metrics.md)."""
        runs = [r for r in self.runs if r.offload == offload]
        out = figures(s for r in runs if not r.instant_memory for s in r.steps)
        instant = {(r.arm, r.concurrency): r for r in runs if r.instant_memory}
        bases = {r.concurrency: r for r in runs if r.arm == BASELINE and not r.instant_memory}
        for fig in out:
            run, base = instant.get((fig.arm, fig.concurrency)), bases.get(fig.concurrency)
            if run is not None and base is not None:
                fig.s_star, fig.s_star_same_run = ideal_speedup(_costs(base.steps), _costs(run.steps)), False
        return out


def _costs(steps: list[StepRow]) -> list[EpisodeCost]:
    return [EpisodeCost.of(v) for v in episodes(steps).values()]


def workload(config: SimConfig, n: int) -> list[TrajectoryShape]:
    """n trajectory shapes for n agents (recorded/replayed ones are reused round-robin), cut at max_model_len."""
    w = config.workload
    if w.replay is not None:
        pool = shapes_from_replay(read_steps(w.replay))
    elif w.recorded is not None:
        pool = shapes_from_recorded(read_recorded(w.recorded))
    else:
        pool = shapes_from_distribution(w.distribution, n, w.seed)
    return [cap_context(pool[i % len(pool)], config.max_model_len) for i in range(n)]


PAPER_OFFLOAD_GIB = 500.0  # the paper's --kv_offloading_size


def with_offload(config: SimConfig, spec: EngineSpec) -> EngineSpec:
    """The engine with the CPU KV tier switched on or off; its size is `offload_gib`, by default the paper's 500 GiB
    or the engine's own GPU KV size where that is larger."""
    if not config.offload:
        return spec.model_copy(update={"cpu_offload_gib": 0.0})
    gpu_gib = spec.capacity_tokens * spec.model.kv_bytes_per_token / 2**30
    gib = config.offload_gib if config.offload_gib is not None else max(PAPER_OFFLOAD_GIB, gpu_gib)
    return spec.model_copy(update={"cpu_offload_gib": gib})


def baseline_spec(config: SimConfig, agent: EngineSpec, memory: EngineSpec) -> EngineSpec:
    """The agent engine of an arm without a memory model. On equal hardware (the default) it also gets the devices
    the memory model has in a separate placement, as more parallelism on the one engine (an explicit `kv_tokens`
    grows in proportion): an idealisation in the baseline's favour, since no engine scales perfectly onto extra
    devices, so a speedup that remains is not one bought with extra hardware."""
    if config.baseline_hardware == "agent-only" or config.placement == "shared":
        return agent
    if agent.hardware.model_dump(exclude={"n_gpu"}) != memory.hardware.model_dump(exclude={"n_gpu"}):
        raise ComemError(f"The agent ({agent.hardware.name}) and the memory model ({memory.hardware.name}) run on "
                         "different devices, so the baseline cannot be given the memory model's.",
                         fix="put both on one device type, or set baseline_hardware=agent-only and say so.")
    n_agent, n_memory = agent.hardware.n_gpu, memory.hardware.n_gpu
    update: dict[str, object] = {"hardware": agent.hardware.model_copy(update={"n_gpu": n_agent + n_memory})}
    if agent.kv_tokens is not None:
        update["kv_tokens"] = agent.kv_tokens * (n_agent + n_memory) // n_agent
    return agent.model_copy(update=update)


def run_arm(config: SimConfig, arm: Arm, shapes: Sequence[TrajectoryShape],
            hook: Callable[[Engine], None] | None = None, slots: Sequence[Sequence[int]] | None = None,
            instant_memory: bool = False) -> ArmRun:
    """Agents on fresh engines until every trajectory is done: one per shape, or `slots[a]` = the shapes agent a
    runs one after another (a replay where agents took several tasks)."""
    slots = [[i] for i in range(len(shapes))] if slots is None else slots
    env = simpy.Environment()
    agent_spec, memory_spec = config.agent, config.memory
    if arm.kind not in ("sync", "kso"):
        agent_spec = baseline_spec(config, agent_spec, memory_spec)
    agent_spec, memory_spec = with_offload(config, agent_spec), with_offload(config, memory_spec)
    engine = Engine(env, agent_spec, "agent", check=config.check)
    memory = engine if config.placement == "shared" else Engine(env, memory_spec, "memory", check=config.check)
    if memory is not engine and config.contention > 1.0:
        engine.colocate(memory, config.contention)
    for e in {id(engine): engine, id(memory): memory}.values():
        e.on_iteration = hook
    agents = [Agent(env, arm, i, shape, engine, memory, config.settings, len(slots), instant_memory=instant_memory)
              for i, shape in enumerate(shapes)]
    for a, members in enumerate(slots):
        for i in members:
            agents[i].slot = a

    def client(members: Sequence[int]):
        for i in members:
            yield from agents[i].run()

    done = [env.process(client(members)) for members in slots]
    env.run(until=simpy.AllOf(env, done))
    engine.stats.evicted_blocks = engine.cache.evicted
    if memory is not engine:
        memory.stats.evicted_blocks = memory.cache.evicted
    return ArmRun(
        arm=arm.name, concurrency=len(slots), offload=config.offload,
        steps=[s for a in agents for s in a.steps], memory=[m for a in agents for m in a.memory],
        wall_s=env.now, agent_stats=engine.stats, memory_stats=None if memory is engine else memory.stats,
        instant_memory=instant_memory,
    )


def arms_of(config: SimConfig) -> list[Arm]:
    arms = [Arm.parse(a, config.k) for a in config.arms]
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ComemError(f"Arms repeat: {', '.join(names)}.", fix="list each arm once.")
    return arms


def simulate(config: SimConfig, shapes: Sequence[TrajectoryShape] | None = None) -> SimResult:
    """Every arm of the config at `config.concurrency` agents."""
    shapes = list(shapes) if shapes is not None else workload(config, config.concurrency)
    return SimResult([run for arm in arms_of(config) for run in _runs(config, arm, shapes)])


def _runs(config: SimConfig, arm: Arm, shapes: Sequence[TrajectoryShape]) -> list[ArmRun]:
    """The arm as measured and, for a memory arm, again with instant memory: the run its S* comes from."""
    runs = [run_arm(config, arm, shapes)]
    if arm.kind in ("sync", "kso"):
        runs.append(run_arm(config, arm, shapes, instant_memory=True))
    return runs


def sweep(config: SimConfig, concurrencies: Sequence[int] = DEFAULT_CONCURRENCY,
          offload: Sequence[bool] = (False, True),
          progress: Callable[[str], None] | None = None) -> SimResult:
    """Every arm at every concurrency, with and without the CPU KV tier."""
    result = SimResult()
    pool = workload(config, max(concurrencies))
    for off in offload:
        for c in concurrencies:
            cfg = config.model_copy(update={"offload": off, "concurrency": c})
            for arm in arms_of(cfg):
                if progress is not None:
                    progress(f"offload={'on' if off else 'off'} concurrency={c} arm={arm.name}")
                result.runs += _runs(cfg, arm, pool[:c])
    return result
