"""Closed-loop agents, one SimPy process each, building their prompts as the real context strategies do.

Prompts are lists of segments whose keys name their content, so the engine's prefix cache sees exactly what
vLLM would: `full` appends; `mask` rewrites the step that falls out of its window; `sync` and `kso` put the
summary right after the head, so a new summary invalidates everything from there on. The schedules are the
strategies' own pure functions (`launch_due`, `summarise_due`, `is_masked`), not re-implementations.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

import simpy
from pydantic import Field

from comem.bench.records import MemoryRow, StepRow, TrajectoryShape
from comem.bench.sim.engine import Engine, Request
from comem.bench.sim.kvcache import Segment
from comem.context import StrategyConfig, parse_arm_spec
from comem.context.kso import launch_due
from comem.context.mask import MaskConfig, is_masked
from comem.context.memory import MemorySettings
from comem.context.sync import SyncConfig, summarise_due
from comem.core.config import StrictModel, default_of
from comem.core.errors import ComemError

Kind = Literal["full", "full-nocache", "mask", "sync", "kso"]


class ArmSettings(StrictModel):
    """Token sizes of what the memory strategies add, and the strategy options every arm of the simulation shares.

    The options carry the strategy configs' field names and defaults (`keep_last` of mask, `retain` of sync,
    `memory_input` of sync and kso); `k` and kso's `late_policy` come with each arm (`kso-k2-deadline`) or
    `SimConfig.k`. The token sizes follow docs/method.md §2-3 and the prompts.
    """

    summary_tokens: int = Field(default=1000, ge=1)  # memory model output per update
    summary_wrapper_tokens: int = Field(default=40, ge=0)  # summary_block.txt around the summary
    memory_template_tokens: int = Field(default=160, ge=0)  # memory_v5.txt, half before the conversation
    memory_step_overhead: int = Field(default=20, ge=0)  # THOUGHT/ACTION/OBSERVATION fences per step
    memory_obs_clip_tokens: int | None = Field(default=None, ge=1)  # the paper's SWE agent does not clip
    memory_input: Literal["from_scratch", "incremental"] = default_of(MemorySettings, "memory_input")
    keep_last: int = Field(default=default_of(MaskConfig, "keep_last"), ge=0)  # mask
    mask_placeholder_tokens: int = Field(default=20, ge=1)
    retain: int = Field(default=default_of(SyncConfig, "retain"), ge=0)  # sync
    system_tokens: int = Field(default=1000, ge=0)  # head tokens shared by all agents (system prompt, tools)
    # Whether the next prompt's rendering of a reply matches the generated tokens, so their KV is reused.
    # vLLM hashes generated blocks too; with llama.cpp the replay shows reuse stopping at the previous prompt.
    output_reuse: bool = True


@dataclass(frozen=True)
class Arm:
    """An arm in the arm grammar of `comem.context.arms` (full, full-nocache, mask, sync-k2, kso-k4,
    kso-k2-deadline), narrowed to what the simulator models. kso/sync without -kN use `default_k` (the deployment's
    `k`), else their strategy's default; kso's late policy is `wait` unless a suffix says otherwise. `strategy` is
    the parsed strategy config."""

    name: str
    kind: Kind
    k: int | None = None
    late_policy: Literal["wait", "deadline"] = "wait"
    strategy: StrategyConfig | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def parse(text: str, default_k: int | None = None) -> Arm:
        """The arm grammar (the parser of `comem run --arms` and the replay), narrowed to what the simulator models."""
        spec = parse_arm_spec(text, {"k": default_k})
        config = spec.config
        kind = config.name if spec.reuse_cache else f"{config.name}-nocache"
        if kind not in get_args(Kind):
            raise ComemError(f"The simulator has no arm {text!r}.",
                             fix="use full, full-nocache, mask, sync[-kN] or kso[-kN][-deadline].")
        policy = getattr(config, "late_policy", None) if "late_policy" in config.model_fields_set else None
        if policy == "stale":
            raise ComemError(f"Arm {text!r}: the simulator models the wait and deadline policies only.",
                             fix="drop the -stale suffix.")
        if getattr(config, "keep_calls", False):
            raise ComemError(f"Arm {text!r}: the simulator models memory that replaces whole steps only.",
                             fix="drop the -calls suffix (measure keep_calls with `comem bench replay`).")
        if kind not in ("sync", "kso"):
            return Arm(name=kind, kind=kind, strategy=config)  # type: ignore[arg-type]
        k = config.k  # type: ignore[attr-defined]
        suffix = f"-{policy}" if policy else ""
        return Arm(name=f"{kind}-k{k}{suffix}", kind=kind, k=k, late_policy=policy or "wait",  # type: ignore[arg-type]
                   strategy=config)


@dataclass
class _Summary:
    id: int
    covers: int  # steps [0, covers)
    request: Request
    timing: MemoryRow


@dataclass
class Agent:
    """One agent running one trajectory in closed loop: prompt -> LLM call -> tool -> next step."""

    env: simpy.Environment
    arm: Arm
    index: int
    shape: TrajectoryShape
    engine: Engine
    memory_engine: Engine
    settings: ArmSettings
    concurrency: int
    slot: int | None = None  # the agent (closed-loop client) this trajectory runs on; default: index
    instant_memory: bool = False  # summaries are ready the moment they are launched and load no engine (for S*)
    steps: list[StepRow] = field(default_factory=list)
    memory: list[MemoryRow] = field(default_factory=list)
    finished_s: float | None = None

    @property
    def client(self) -> int:
        return self.index if self.slot is None else self.slot

    # --- prompt pieces ------------------------------------------------------------------------------------------
    def _head(self, tag: str = "") -> list[Segment]:
        system = self.settings.system_tokens if self.shape.head_tokens > self.settings.system_tokens else 0
        return [(tag + "sys", system), ((tag + "task", self.index), self.shape.head_tokens - system)]

    def _step(self, t: int, masked: bool = False) -> list[Segment]:
        s, a = self.shape.steps[t], self.index
        if masked:
            return [(("out", a, t), s.output_tokens), (("mask", a, t), self.settings.mask_placeholder_tokens)]
        return [(("out", a, t), s.output_tokens), (("obs", a, t), s.observation_tokens)]

    def prompt(self, n: int, summary: _Summary | None) -> list[Segment]:
        """The agent's prompt at iteration n: head, then the summary if one is installed, then raw steps."""
        segments = self._head()
        if self.arm.kind == "mask":
            keep = self.settings.keep_last
            for t in range(n):
                segments += self._step(t, masked=is_masked(t, n, keep))
            return segments
        start = 0
        if summary is not None:
            tokens = self.settings.summary_tokens + self.settings.summary_wrapper_tokens
            segments.append((("sum", self.index, summary.id), tokens))
            start = summary.covers
        for t in range(start, n):
            segments += self._step(t)
        return segments

    def memory_prompt(self, start: int, end: int, previous: _Summary | None) -> list[Segment]:
        """The memory model's input (docs/method.md §2-3): template, head, steps [start, end), template tail."""
        st, a = self.settings, self.index
        half = st.memory_template_tokens // 2
        segments: list[Segment] = [("mtpl", half), *self._head("m")]
        if previous is not None:
            segments.append((("mprev", a, previous.id), st.summary_tokens + st.memory_step_overhead))
        for t in range(start, end):
            s = self.shape.steps[t]
            obs = s.observation_tokens if st.memory_obs_clip_tokens is None else min(s.observation_tokens,
                                                                                      st.memory_obs_clip_tokens)
            segments.append((("mstep", a, t), s.output_tokens + obs + st.memory_step_overhead))
        segments.append(("mtail", st.memory_template_tokens - half))
        return segments

    # --- memory calls -------------------------------------------------------------------------------------------
    def _launch(self, n: int, end: int, installed: _Summary | None, next_id: int) -> _Summary:
        incremental = self.settings.memory_input == "incremental" and installed is not None
        start = installed.covers if incremental and installed else 0
        segments = self.memory_prompt(start, end, installed if incremental else None)
        req = Request(segments=segments, output_tokens=self.settings.summary_tokens,
                      output_key=("msum", self.index, next_id))
        if self.instant_memory:
            req.prompt_tokens, req.finished_s = sum(t for _, t in segments), self.env.now
            req.done = self.env.event()
            req.done.succeed()
        else:
            self.memory_engine.submit(req)
        timing = MemoryRow(
            arm=self.arm.name, concurrency=self.concurrency, agent=self.client, trajectory=self.shape.name,
            id=next_id, launch_step=n, covers=(start, end), status="pending", input_tokens=req.prompt_tokens,
            summary_tokens=self.settings.summary_tokens, launched_s=self.env.now, finished_s=None, exposed_wait_s=0.0,
        )
        self.memory.append(timing)
        return _Summary(id=next_id, covers=end, request=req, timing=timing)

    def _collect(self, pending: _Summary) -> Iterator[simpy.Event]:
        """Wait for a summary (now, or already done) and mark it done."""
        t = self.env.now
        if not pending.request.done.triggered:
            yield pending.request.done
        pending.timing.status = "ok"
        pending.timing.finished_s = pending.request.finished_s
        pending.timing.exposed_wait_s = self.env.now - t

    # --- the loop -----------------------------------------------------------------------------------------------
    def run(self) -> Iterator[simpy.Event]:
        env, arm = self.env, self.arm
        installed: _Summary | None = None
        pending: _Summary | None = None
        next_id = 0
        for n, shape in enumerate(self.shape.steps):
            began = env.now
            if arm.kind == "kso":
                due = launch_due(n, arm.k)
                if pending is not None and (arm.late_policy == "wait" or due or pending.request.done.triggered):
                    yield from self._collect(pending)
                    installed, pending = pending, None
                if due and pending is None:
                    pending = self._launch(n, n, installed, next_id)
                    next_id += 1
            elif arm.kind == "sync":
                covered = installed.covers if installed else 0
                if summarise_due(n, covered, arm.k, self.settings.retain):
                    job = self._launch(n, n - self.settings.retain, installed, next_id)
                    next_id += 1
                    yield from self._collect(job)
                    installed = job
            waited = env.now - began
            segments = self.prompt(n, installed)
            generated = ("out" if self.settings.output_reuse else "gen", self.index, n)
            req = Request(segments=segments, output_tokens=shape.output_tokens, output_key=generated,
                          cacheable=arm.kind != "full-nocache")
            yield self.engine.submit(req)
            assert req.first_token_s is not None and req.finished_s is not None
            if shape.tool_s > 0:
                yield env.timeout(shape.tool_s)
            self.steps.append(StepRow(
                arm=arm.name, concurrency=self.concurrency, agent=self.client, trajectory=self.shape.name, step=n,
                prompt_tokens=req.prompt_tokens, cached_tokens=req.cached_tokens,
                completion_tokens=shape.output_tokens, agent_ttft_s=req.first_token_s - req.submitted_s,
                agent_total_s=req.finished_s - req.submitted_s,
                tool_s=shape.tool_s, memory_wait_s=waited, started_s=began, finished_s=env.now,
                raw_from=installed.covers if installed else 0, summary_id=installed.id if installed else None,
            ))
        if pending is not None:  # episode over: the update in flight is cancelled (kso.close)
            self.memory_engine.abort(pending.request)
            pending.timing.status = "superseded"
            pending.timing.finished_s = env.now
        self.finished_s = env.now


def segment_keys(segments: list[Segment]) -> list[Hashable]:
    """The content keys of a prompt, for tests and debugging."""
    return [key for key, _ in segments]
