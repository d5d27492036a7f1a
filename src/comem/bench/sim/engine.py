"""A vLLM-V1-like serving engine as one SimPy process.

Each iteration schedules every decoding sequence (one token each) first, then prefill chunks of running
requests in admission order, then admits waiting requests FCFS, all within `max_num_batched_tokens` and
`max_num_seqs`. KV lives in a `PrefixCache`; when a decode or prefill needs a block and none can be freed, the
most recently admitted running request is preempted and later recomputed (docs/simulator.md). Iteration times come from
the roofline. While the batch only decodes and nothing can change it, the engine advances many iterations
at once (numpy), up to the next finish, block shortage, CPU-tier reload or arrival — which keeps 256 agents
x 60 steps to seconds of simulation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import simpy
from pydantic import Field, field_validator, model_validator

from comem.bench.sim.kvcache import CacheSeq, Hit, PrefixCache, Segment
from comem.bench.sim.presets import HARDWARE, MODELS
from comem.bench.sim.roofline import Efficiency, Hardware, ModelShape, Roofline, kv_capacity_tokens
from comem.core.config import StrictModel
from comem.core.errors import ComemError


def _preset(table: dict[str, Any], what: str):
    """Let a field be given as a preset name, or as a dict naming a preset plus fields to override."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            value = {"name": value}
        if isinstance(value, dict) and value.get("name") in table:
            return {**table[value["name"]].model_dump(), **value}
        if isinstance(value, dict) and set(value) == {"name"}:
            raise ComemError(f"Unknown {what} preset {value['name']!r}.", fix=f"use one of: {', '.join(table)}.")
        return value

    return resolve


class EngineSpec(StrictModel):
    """One serving engine: model, devices, efficiencies and the vLLM scheduler limits."""

    model: ModelShape
    hardware: Hardware
    efficiency: Efficiency = Field(default_factory=Efficiency)
    block_size: int = Field(default=16, ge=1)
    max_num_batched_tokens: int = Field(default=8192, ge=1)
    max_num_seqs: int = Field(default=1024, ge=1)
    kv_tokens: int | None = Field(default=None, ge=1)  # KV capacity; default from memory (docs/simulator.md)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    activation_reserve: float = Field(default=0.03, ge=0, lt=1)
    prefix_caching: bool = True
    # vLLM's --kv-cache-dtype: the bytes of each cached K/V element (auto: the model's bytes_per_kv). FP8 halves
    # the KV per token, so twice the tokens fit, and lets attention run at the FP8 rate.
    kv_cache_dtype: Literal["auto", "bf16", "fp16", "fp8"] = "auto"
    cpu_offload_gib: float = Field(default=0.0, ge=0)  # CPU KV tier size; 0 = off

    _model = field_validator("model", mode="before")(_preset(MODELS, "model"))
    _hardware = field_validator("hardware", mode="before")(_preset(HARDWARE, "hardware"))

    @model_validator(mode="after")
    def _check(self) -> EngineSpec:
        if self.max_num_batched_tokens < min(self.max_num_seqs, 256):
            raise ValueError("max_num_batched_tokens must leave room for one decode token per sequence")
        if self.kv_cache_dtype != "auto":
            self.model = self.model.model_copy(update={"bytes_per_kv": 1.0 if self.kv_cache_dtype == "fp8" else 2.0})
        return self

    @property
    def capacity_tokens(self) -> int:
        if self.kv_tokens is not None:
            return self.kv_tokens
        return kv_capacity_tokens(self.model, self.hardware, self.gpu_memory_utilization, self.activation_reserve)

    @property
    def capacity_blocks(self) -> int:
        return self.capacity_tokens // self.block_size

    @property
    def cpu_blocks(self) -> int:
        return int(self.cpu_offload_gib * 2**30 // (self.model.kv_bytes_per_token * self.block_size))


@dataclass(eq=False)
class Request:
    """One LLM call. The engine fills in the times; `done` fires when the last token is out."""

    segments: list[Segment]
    output_tokens: int
    output_key: Hashable
    cacheable: bool = True
    submitted_s: float = 0.0
    first_token_s: float | None = None
    finished_s: float | None = None
    cached_tokens: int | None = None  # prefix hit at first admission (GPU + CPU tier)
    reloaded_tokens: int = 0
    preemptions: int = 0
    done: simpy.Event | None = None
    # engine state
    prompt_tokens: int = 0
    target: int = 0  # tokens to prefill before the next token comes out: prompt + output so far
    computed: int = 0  # tokens with KV (while prefilling)
    generated: int = 0
    slot: int | None = None
    ready_at: float = 0.0  # CPU-tier copy done
    blocked_epoch: int = -1
    aborted: bool = False
    sid: int = -1
    cs: CacheSeq | None = None
    attempt: int = 0


@dataclass
class EngineStats:
    iterations: int = 0
    busy_s: float = 0.0
    preemptions: int = 0
    requests: int = 0
    prefix_query_tokens: int = 0  # tokens looked up at admissions (vLLM's prefix_cache_queries)
    prefix_hit_tokens: int = 0
    reload_tokens: int = 0  # of the hits, tokens copied back from the CPU tier
    prefill_tokens: int = 0  # tokens actually computed in prefill (incl. recompute)
    decode_tokens: int = 0
    prefill_completions: int = 0  # prefills that ran to the end and produced a token
    peak_used_blocks: int = 0  # in use by requests, excluding cached free blocks
    capacity_blocks: int = 0
    block_size: int = 1
    evicted_blocks: int = 0

    @property
    def hit_rate(self) -> float:
        return self.prefix_hit_tokens / self.prefix_query_tokens if self.prefix_query_tokens else 0.0

    @property
    def peak_kv_fraction(self) -> float:
        return self.peak_used_blocks / self.capacity_blocks if self.capacity_blocks else 0.0


@dataclass
class _Plan:
    n_decode: int = 0
    decode_ctx: float = 0.0
    chunks: list[tuple[Request, int, int]] = field(default_factory=list)  # (request, new tokens, cached before)
    changed: bool = False  # admitted or preempted: the next iteration must be planned afresh


class Engine:
    """Continuous batching with chunked prefill, block prefix cache, preemption by recompute, CPU KV tier."""

    MAX_CHUNK = 4096  # decode iterations advanced in one go at most

    def __init__(self, env: simpy.Environment, spec: EngineSpec, name: str = "agent", check: bool = False) -> None:
        self.env, self.spec, self.name, self.check = env, spec, name, check
        self.rf = Roofline(spec.model, spec.hardware, spec.efficiency)
        self.bs = spec.block_size
        self.cache = PrefixCache(spec.capacity_blocks, spec.block_size, spec.cpu_blocks, spec.prefix_caching)
        self.capacity_tokens = spec.capacity_blocks * spec.block_size
        if self.capacity_tokens < 2 * spec.block_size:
            raise ComemError(f"The {name} engine has no room for KV ({self.capacity_tokens} tokens).",
                             fix="give it more devices or memory, or set kv_tokens.")
        self.stats = EngineStats(capacity_blocks=spec.capacity_blocks, block_size=spec.block_size)
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []  # admission order; the last one is preempted first
        size = spec.max_num_seqs
        self.kv = np.zeros(size, dtype=np.int64)  # per slot: tokens with KV (decoding sequences)
        self.rem = np.zeros(size, dtype=np.int64)  # per slot: tokens still to generate
        self.dec = np.zeros(size, dtype=bool)  # per slot: decoding
        self.slots: list[Request] = []  # slot i -> request; slots are kept compact
        self.epoch = 0  # bumped whenever blocks are released, so a blocked head is retried only then
        self._wake: simpy.Event | None = None
        self._idle = True
        self._link_free = 0.0
        self._next_sid = 0
        self.peer: Engine | None = None  # another engine on the same host (CPU replay): they slow each other down
        self.contention = 1.0  # iteration time factor while the peer computes too
        self.busy = False
        self._in_run = False
        self.on_iteration = None  # test hook: called after every applied iteration
        env.process(self._loop())

    # --- client side --------------------------------------------------------------------------------------------
    def submit(self, req: Request) -> simpy.Event:
        """Queue a request (after the per-request overhead); returns the event that fires when it is done."""
        req.prompt_tokens = sum(t for _, t in req.segments)
        if req.output_tokens < 1 or req.prompt_tokens < 1:
            raise ComemError("A simulated request needs at least one prompt and one output token.",
                             fix="check the workload's token counts.")
        total = req.prompt_tokens + req.output_tokens
        if total > self.capacity_tokens:
            raise ComemError(
                f"A {self.name} request of {total} tokens exceeds the engine's KV capacity of "
                f"{self.capacity_tokens} tokens.",
                fix=f"raise the capacity (--set {self.name}.kv_tokens=..., more devices) or shorten the workload "
                "(max_model_len).",
            )
        req.target = req.prompt_tokens
        req.submitted_s = self.env.now
        req.done = self.env.event()
        req.sid = self._next_sid
        self._next_sid += 1
        self.stats.requests += 1
        delay = self.spec.efficiency.t_request_s
        if delay > 0:
            self.env.timeout(delay).callbacks.append(lambda _: self._enqueue(req))
        else:
            self._enqueue(req)
        return req.done

    def abort(self, req: Request) -> None:
        """Drop a request (a superseded memory call). A running one leaves at the next iteration boundary."""
        req.aborted = True
        if req in self.waiting:
            self.waiting.remove(req)

    def _reap(self) -> None:
        """Release aborted running requests (only between iterations, when no chunk is in flight)."""
        for r in [r for r in self.running if r.aborted]:
            tokens = self._tokens(r)
            self._remove(r)
            self._release(r, tokens)

    def colocate(self, other: Engine, contention: float) -> None:
        """Share the host with another engine: while both compute, each one's iterations take `contention` x longer."""
        self.peer, other.peer = other, self
        self.contention = other.contention = contention

    def _slowdown(self) -> float:
        return self.contention if self.peer is not None and self.peer.busy else 1.0

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            if self.peer is not None:
                self.peer._poke()

    def _poke(self) -> None:
        """The peer started or stopped computing: a multi-iteration decode run replans at its next boundary."""
        if self._in_run and self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _enqueue(self, req: Request) -> None:
        if req.aborted:
            return
        self.waiting.append(req)
        if self._wake is not None and not self._wake.triggered and (self._idle or len(self.waiting) == 1):
            self._wake.succeed()

    # --- the loop ----------------------------------------------------------------------------------------------
    def _loop(self) -> Iterator[simpy.Event]:
        env = self.env
        while True:
            self._reap()
            if not self.running and not self.waiting:
                self._set_busy(False)
                self._idle, self._wake = True, env.event()
                yield self._wake
                self._idle, self._wake = False, None
                continue
            plan = self._plan()
            if plan.n_decode == 0 and not plan.chunks:  # only CPU-tier copies in flight
                loading = [r.ready_at for r in self.running if r.ready_at > env.now]
                if not loading:
                    raise RuntimeError("engine stalled with nothing loading")  # a scheduler bug, never input
                self._set_busy(False)
                self._wake = env.event()
                yield env.timeout(min(loading) - env.now) | self._wake
                self._wake = None
                continue
            self._set_busy(True)
            if plan.chunks or plan.changed:
                dt = self.rf.iteration(plan.n_decode, plan.decode_ctx, [(n, c) for _, n, c in plan.chunks])
                dt *= self._slowdown()
                yield env.timeout(dt)
                self._account(dt, 1)
                self._apply_decode(1)
                self._apply_chunks(plan.chunks)
                self._after()
            else:
                yield from self._decode_run()

    def _plan(self) -> _Plan:
        """Choose this iteration's work: decodes, prefill chunks, admissions (V1 order: running first)."""
        cache, bs, now = self.cache, self.bs, self.env.now
        preempted = False
        while self._decode_need() > cache.available():
            self._preempt(self._victim())
            preempted = True
        n = len(self.slots)
        n_decode = int(np.count_nonzero(self.dec[:n]))
        budget = self.spec.max_num_batched_tokens - n_decode
        plan = _Plan(n_decode=n_decode)
        for r in list(self.running):
            if budget <= 0:
                break
            if r.slot is None or self.dec[r.slot] or r.ready_at > now:
                continue
            take = min(r.target - r.computed, budget)
            have = cache.blocks(r.computed)
            while cache.blocks(r.computed + take) - have > cache.available() - self._decode_need():
                victim = self._victim()
                if victim is r:
                    take = (have + cache.available() - self._decode_need()) * bs - r.computed
                    break
                self._preempt(victim)
                preempted = True
            if take <= 0:
                self._preempt(r)
                preempted = True
                continue
            cache.allocate(cache.blocks(r.computed + take) - have)
            plan.chunks.append((r, take, r.computed))
            budget -= take
        while not preempted and self.waiting and budget > 0 and len(self.running) < self.spec.max_num_seqs:
            r = self.waiting[0]
            taken = None if r.blocked_epoch == self.epoch else self._admit(r, budget, plan)
            if taken is None:  # not enough blocks: retry only once some are released
                r.blocked_epoch = self.epoch
                break
            budget -= taken
        plan.changed = plan.changed or preempted
        n = len(self.slots)
        dec = self.dec[:n]
        plan.n_decode = int(np.count_nonzero(dec))
        plan.decode_ctx = float(self.kv[:n][dec].sum()) + plan.n_decode
        return plan

    def _admit(self, r: Request, budget: int, plan: _Plan) -> int | None:
        """Admit the queue head if its first chunk fits; returns the tokens scheduled, None if it must wait."""
        cache, bs = self.cache, self.bs
        if r.cs is None:
            root = None if r.cacheable else ("nocache", r.sid, r.attempt)
            r.cs = CacheSeq(r.sid, cache.path([*r.segments, (r.output_key, r.output_tokens)], root))
        limit = (r.target - 1) // bs
        hit = cache.lookup(r.cs, limit) if r.cacheable else Hit(0, 0, 0)
        start = hit.blocks * bs
        reload = hit.blocks - hit.gpu_blocks
        take = 0 if reload else min(r.target - start, budget)
        need = hit.pinned + reload + cache.blocks(start + take) - hit.blocks
        if need > cache.available() - self._decode_need():
            return None
        self.waiting.popleft()
        cache.hold_to(r.cs, hit.gpu_blocks)
        if reload:
            cache.allocate(reload)
            cache.hold_to(r.cs, hit.blocks)
            cache.private -= reload
            self._link_free = max(self._link_free, self.env.now) + self.rf.reload_s(reload * bs)
            r.ready_at = self._link_free
            r.reloaded_tokens += reload * bs
            self.stats.reload_tokens += reload * bs
        self.stats.prefix_query_tokens += r.target
        self.stats.prefix_hit_tokens += start
        if r.cached_tokens is None:
            r.cached_tokens = start
        r.computed = start
        self.running.append(r)
        r.slot = len(self.slots)
        self.slots.append(r)
        self.dec[r.slot] = False
        if take:
            cache.allocate(cache.blocks(start + take) - hit.blocks)
            plan.chunks.append((r, take, start))
        plan.changed = True
        return take

    def _victim(self) -> Request:
        """The most recently admitted running request; one still copying from the CPU tier only as a last resort
        (vLLM keeps those out of the running queue, in WAITING_FOR_REMOTE_KVS)."""
        now = self.env.now
        for r in reversed(self.running):
            if r.ready_at <= now:
                return r
        return self.running[-1]

    def _decode_need(self) -> int:
        """Blocks the decodes of one iteration need: sequences whose last block is full."""
        n = len(self.slots)
        return int(np.count_nonzero(self.dec[:n] & (self.kv[:n] % self.bs == 0)))

    def _decode_run(self) -> Iterator[simpy.Event]:
        """Advance decode-only iterations in one go, until a sequence finishes, blocks run out, or a wake-up."""
        env, cache = self.env, self.cache
        n = len(self.slots)
        dec = self.dec[:n]
        kv = self.kv[:n][dec]
        m = min(int(self.rem[:n][dec].min()), self.MAX_CHUNK)
        first = -(-kv // self.bs)

        def allocs(k: int) -> int:
            return int((-(-(kv + k) // self.bs) - first).sum())

        avail = cache.available()
        if allocs(m) > avail:  # allocs(1) <= avail: _plan preempted until one iteration fits
            lo, hi = 1, m
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if allocs(mid) <= avail else (lo, mid - 1)
            m = lo
        ends = np.cumsum(self.rf.decode_run(len(kv), float(kv.sum()), m) * self._slowdown())
        loading = [r.ready_at for r in self.running if r.ready_at > env.now]
        if loading:
            m = min(m, int(np.searchsorted(ends, min(loading) - env.now, side="left")) + 1)
        t0 = env.now
        timeout = env.timeout(float(ends[m - 1]))
        self._wake = env.event()
        self._in_run = True
        fired = yield timeout | self._wake
        self._in_run = False
        self._wake = None
        if timeout not in fired:  # an arrival or the peer's state changed: finish the iteration in flight, replan
            m = min(m, int(np.searchsorted(ends, env.now - t0, side="left")) + 1)
            rest = float(ends[m - 1]) - (env.now - t0)
            if rest > 0:
                yield env.timeout(rest)
        self._account(float(ends[m - 1]), m)
        self._apply_decode(m)
        self._after()

    # --- applying an iteration ---------------------------------------------------------------------------------
    def _account(self, dt: float, iterations: int) -> None:
        self.stats.iterations += iterations
        self.stats.busy_s += dt

    def _apply_decode(self, m: int) -> None:
        n = len(self.slots)
        dec = self.dec[:n]
        if not dec.any():
            return
        kv = self.kv[:n]
        self.cache.allocate(int((-(-(kv[dec] + m) // self.bs) + (kv[dec] // -self.bs)).sum()))
        kv[dec] += m
        self.rem[:n][dec] -= m
        self.stats.decode_tokens += m * int(np.count_nonzero(dec))
        self._note_peak()
        for slot in sorted(np.flatnonzero(dec & (self.rem[:n] == 0)).tolist(), reverse=True):
            r = self.slots[slot]
            r.generated = r.output_tokens
            self._finish(r)

    def _apply_chunks(self, chunks: list[tuple[Request, int, int]]) -> None:
        for r, take, _ in chunks:
            if r.slot is None:
                continue
            r.computed += take
            self.stats.prefill_tokens += take
            self.cache.settle(r.cs, r.computed)
            if r.computed < r.target:
                continue
            r.generated += 1
            self.stats.prefill_completions += 1
            if r.first_token_s is None:
                r.first_token_s = self.env.now
            if r.generated >= r.output_tokens:
                self._finish(r)
            else:
                self.kv[r.slot] = r.computed
                self.rem[r.slot] = r.output_tokens - r.generated
                self.dec[r.slot] = True
        self._note_peak()

    def _after(self) -> None:
        if self.check:
            self.cache.check()
        if self.on_iteration is not None:
            self.on_iteration(self)

    def _note_peak(self) -> None:
        """Blocks in use (held or private), as vLLM's kv_cache_usage counts them; cached free blocks are not."""
        in_use = self.cache.held_total + self.cache.private
        if in_use > self.stats.peak_used_blocks:
            self.stats.peak_used_blocks = in_use

    # --- leaving the batch -------------------------------------------------------------------------------------
    def _tokens(self, r: Request) -> int:
        """Tokens with KV: from the slot arrays while decoding."""
        return int(self.kv[r.slot]) if self.dec[r.slot] else r.computed

    def _remove(self, r: Request) -> None:
        """Take a request out of the running set, keeping slots compact (the last slot fills the hole)."""
        slot, last = r.slot, len(self.slots) - 1
        if slot != last:
            moved = self.slots[last]
            self.slots[slot] = moved
            moved.slot = slot
            self.kv[slot], self.rem[slot], self.dec[slot] = self.kv[last], self.rem[last], self.dec[last]
        self.slots.pop()
        self.dec[last] = False
        self.running.remove(r)
        r.slot = None
        r.ready_at = 0.0

    def _release(self, r: Request, tokens: int) -> None:
        self.cache.release(r.cs, tokens, keep=r.cacheable)
        if not r.cacheable:
            self.cache.drop_branch(r.cs.path)
            r.cs = None
        self.epoch += 1

    def _finish(self, r: Request) -> None:
        tokens = self._tokens(r)
        self._remove(r)
        self._release(r, tokens)
        r.finished_s = self.env.now
        r.done.succeed(r)

    def _preempt(self, r: Request) -> None:
        """Recompute later (V1): blocks go back (cached), the request returns to the head of the queue."""
        if self.dec[r.slot]:  # decode progress lives in the slot arrays
            r.generated = r.output_tokens - int(self.rem[r.slot])
        tokens = self._tokens(r)
        self._remove(r)
        self._release(r, tokens)
        r.computed = 0
        r.target = r.prompt_tokens + r.generated
        r.preemptions += 1
        r.attempt += 1
        self.stats.preemptions += 1
        self.waiting.appendleft(r)
