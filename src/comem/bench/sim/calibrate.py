"""Fit the roofline's efficiency factors to replay measurements, and check the simulator against the replay.

Fit: at concurrency 1 an agent call is one sequence alone on the engine, so its TTFT is the per-request
overhead plus the prefill chunks' iteration times, and its decode time the sum of (output - 1) single-token
iterations — closed forms of the same roofline the simulator uses. Levenberg-Marquardt on relative errors
of TTFT and decode time, in log-parameters (all positive), with a weak pull towards the preset's values so
that a factor the data cannot see (e.g. attention efficiency when attention is never the bottleneck) stays put.

Check: (1) fit on half the trajectories, report the per-step latency MAPE on the other half; (2) simulate the
replayed workload (`shapes_from_replay`) arm by arm with the fitted factors, and compare step by step with
the replay: the simulator's per-step MAPE, goal <= 15% (issue, part 2).

Engines: a replay on equal hardware runs the arms without a memory model on an agent server with every core, and
the memory arms on one with the agent's share (rows carry `agent_threads`). These are two engines: the factors
are fitted on the memory arms' agent server (the one the deployment's `agent` describes, next to its memory
server), and separately on the other one (`baseline_efficiency`), which validates the arms that ran there.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from comem.bench.records import MemoryRow, StepRow
from comem.bench.sim.agents import Arm
from comem.bench.sim.config import SimConfig
from comem.bench.sim.engine import EngineSpec
from comem.bench.sim.roofline import Efficiency, Roofline
from comem.bench.sim.simulate import run_arm
from comem.bench.sim.workload import shapes_from_replay
from comem.core.errors import ComemError
from comem.core.metrics import BASELINE, mape

PARAMS = ("t_request_s", "t_fixed_s", "bw", "kv_bw", "mfu", "attn")  # the first two are times, the rest fractions


def _value(eff: Efficiency, name: str) -> float:
    """The fitted quantity: times as they are, efficiencies inverted (time is linear in 1/efficiency)."""
    v = getattr(eff, name)
    return v if name.endswith("_s") else 1.0 / v


def _efficiency(values: np.ndarray) -> Efficiency:
    fields = {n: float(v) if n.endswith("_s") else float(1.0 / v) for n, v in zip(PARAMS, values, strict=True)}
    return Efficiency(**fields)


def _usable(row: StepRow) -> bool:
    return row.concurrency == 1 and row.prompt_tokens > 0 and row.completion_tokens > 0 and row.agent_ttft_s > 0


def _cached(row: StepRow, block_size: int) -> int:
    """Tokens the engine reused; at least one prompt token is always computed."""
    cached = row.cached_tokens or 0
    return min(cached // block_size * block_size, row.prompt_tokens - 1)


class _Features:
    """Per-iteration roofline terms of every usable row, in the order PARAMS[2:] multiply them, plus the fixed
    per-layer and link costs of the devices (not fitted: they come from the hardware)."""

    def __init__(self, rows: list[StepRow], spec: EngineSpec) -> None:
        rf = Roofline(spec.model, spec.hardware, Efficiency(bw=1, kv_bw=1, mfu=1, attn=1, t_fixed_s=0))
        mem_w, mem_kv, lin, att, fixed, owner = [], [], [], [], [], []
        self.rows = rows
        for i, row in enumerate(rows):
            p, o = row.prompt_tokens, row.completion_tokens
            start = _cached(row, spec.block_size)
            while start < p:  # prefill chunks: row i's TTFT, index 2i
                n = min(spec.max_num_batched_tokens, p - start)
                mem_w.append(rf.weights_read(n) / rf.bw_w)
                mem_kv.append((start + n) * rf.s_kv / rf.bw_kv)
                lin.append((rf.lin_per_token + rf.moe_per_token) * n / rf.f_lin)
                att.append(rf.att_coef * (n * start + n * n / 2) / rf.f_att)
                fixed.append(rf.t_fixed + rf.comm_per_token * n)
                owner.append(2 * i)
                start += n
            if o > 1:  # decode iterations: row i's decode time, index 2i + 1
                ctx = p + np.arange(1, o, dtype=np.float64)
                mem_w.extend([rf.weights_read(1) / rf.bw_w] * (o - 1))
                mem_kv.extend(ctx * rf.s_kv / rf.bw_kv)
                lin.extend([(rf.lin_per_token + rf.moe_per_token) / rf.f_lin] * (o - 1))
                att.extend(ctx * rf.att_coef / rf.f_att)
                fixed.extend([rf.t_fixed + rf.comm_per_token] * (o - 1))
                owner.extend([2 * i + 1] * (o - 1))
        self.terms = np.array([mem_w, mem_kv, lin, att], dtype=np.float64)
        self.fixed = np.array(fixed, dtype=np.float64)
        self.owner = np.array(owner, dtype=np.int64)
        self.n_out = 2 * len(rows)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted (TTFT, decode) per row, and d(prediction)/d(x) per output, for x in PARAMS order. As in the
        roofline, the GEMMs and the attention each take the larger of their memory and compute times."""
        w_mem, w_comp = x[2] * self.terms[0], x[4] * self.terms[2]
        a_mem, a_comp = x[3] * self.terms[1], x[5] * self.terms[3]
        w_on_mem, a_on_mem = w_mem >= w_comp, a_mem >= a_comp
        t = x[1] + self.fixed + np.where(w_on_mem, w_mem, w_comp) + np.where(a_on_mem, a_mem, a_comp)
        pred = np.bincount(self.owner, weights=t, minlength=self.n_out)
        pred[0::2] += x[0]
        jac = np.zeros((self.n_out, len(PARAMS)))
        jac[0::2, 0] = 1.0
        jac[:, 1] = np.bincount(self.owner, minlength=self.n_out)
        for col, term, active in ((2, 0, w_on_mem), (3, 1, a_on_mem), (4, 2, ~w_on_mem), (5, 3, ~a_on_mem)):
            jac[:, col] = np.bincount(self.owner, weights=np.where(active, self.terms[term], 0.0), minlength=self.n_out)
        return pred, jac

    def measured(self) -> np.ndarray:
        out = np.zeros(self.n_out)
        out[0::2] = [r.agent_ttft_s for r in self.rows]
        out[1::2] = [r.decode_s if r.completion_tokens > 1 else 0.0 for r in self.rows]
        return out


def overlaps(rows: list[StepRow], memory: list[MemoryRow]) -> np.ndarray:
    """Per row, the share of its TTFT and of its decode time during which a memory call of the same run was in
    flight (on a shared host, the two servers then compete for cores and memory bandwidth)."""
    spans: dict[tuple[str, int, int], list[tuple[float, float]]] = defaultdict(list)
    for m in memory:
        if m.finished_s is not None:
            spans[(m.arm, m.concurrency, m.repeat)].append((m.launched_s, m.finished_s))
    out = np.zeros(2 * len(rows))
    for i, r in enumerate(rows):
        start, end = r.call_span
        bounds = ((start, start + r.agent_ttft_s), (start + r.agent_ttft_s, end))
        for j, (lo, hi) in enumerate(bounds):
            if hi <= lo:
                continue
            busy = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans.get((r.arm, r.concurrency, r.repeat), ()))
            out[2 * i + j] = min(1.0, busy / (hi - lo))
    return out


@dataclass
class Fitted:
    efficiency: Efficiency
    contention: float  # slowdown while the memory server computes on the same host (1 = none)


def fit(rows: list[StepRow], spec: EngineSpec, memory: list[MemoryRow] | None = None, contention: float = 1.0,
        prior: float = 0.01, iterations: int = 200) -> Fitted:
    """Least squares on relative TTFT and decode errors (concurrency-1 rows), starting from `spec.efficiency`.

    Where memory calls overlapped an agent call, its predicted time is stretched by 1 / (1 - f + f / c) for an
    overlap share f, and the slowdown c is fitted too (kept as given when nothing overlapped).
    """
    rows = [r for r in rows if _usable(r)]
    if len(rows) < 3:
        raise ComemError("Calibration needs at least 3 replayed steps at concurrency 1.",
                         fix="replay at least one trajectory with --concurrency 1.")
    feats = _Features(rows, spec)
    share = overlaps(rows, memory or [])
    fit_c = bool((share > 0.05).any())
    y = feats.measured()
    weight = np.where(y > 0, 1.0 / np.maximum(y, 1e-9), 0.0)
    w0 = np.log([*(max(_value(spec.efficiency, n), 1e-4) for n in PARAMS), max(contention - 1.0, 0.05)])

    def residuals(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.exp(w[:-1])
        c = 1.0 + np.exp(w[-1]) if fit_c else contention
        pred, jac = feats.predict(x)
        stretch = 1.0 - share + share / c
        real = pred / stretch
        d_u = jac * x[None, :] / stretch[:, None]
        d_c = pred * share / (c * c * stretch * stretch) * (c - 1.0) if fit_c else np.zeros_like(pred)
        r = np.concatenate([(real - y) * weight, prior * (w - w0)])
        j = np.vstack([np.hstack([d_u, d_c[:, None]]) * weight[:, None], prior * np.eye(len(w))])
        return r, j

    w, damping = w0.copy(), 1e-3
    r, j = residuals(w)
    cost = float(r @ r)
    for _ in range(iterations):
        h, g = j.T @ j, j.T @ r
        step = np.linalg.solve(h + damping * np.diag(np.diag(h) + 1e-12), -g)
        r_new, j_new = residuals(w + step)
        cost_new = float(r_new @ r_new)
        if cost_new < cost:
            w, r, j, damping = w + step, r_new, j_new, damping / 3
            if cost - cost_new < 1e-12 * max(cost, 1e-12):
                break
            cost = cost_new
        else:
            damping *= 4
            if damping > 1e10:
                break
    return Fitted(_efficiency(np.exp(w[:-1])), float(1.0 + np.exp(w[-1])) if fit_c else contention)


def predict_total(rows: list[StepRow], spec: EngineSpec, memory: list[MemoryRow] | None = None,
                  contention: float = 1.0) -> np.ndarray:
    """Predicted agent-call latency (TTFT + decode) of each row: alone on the engine, stretched where memory calls
    overlapped it."""
    feats = _Features(rows, spec)
    pred, _ = feats.predict(np.array([_value(spec.efficiency, n) for n in PARAMS]))
    share = overlaps(rows, memory or [])
    pred = pred / (1.0 - share + share / contention)
    return pred[0::2] + pred[1::2]


def split(rows: list[StepRow]) -> tuple[list[StepRow], list[StepRow]]:
    """Fit on even-numbered trajectories, hold out odd ones; with a single trajectory, split by step parity."""
    names = sorted({r.trajectory for r in rows})
    if len(names) >= 2:
        held = set(names[1::2])
        return [r for r in rows if r.trajectory not in held], [r for r in rows if r.trajectory in held]
    return [r for r in rows if r.step % 2 == 0], [r for r in rows if r.step % 2 == 1]


class ArmCheck(BaseModel):
    arm: str
    concurrency: int
    steps: int
    mape_total: float  # per-step agent-call latency, simulated vs replayed
    mape_ttft: float
    mape_decode: float
    median_ratio: float  # median simulated / median replayed step latency


def engine_groups(rows: list[StepRow], memory: list[MemoryRow]) -> tuple[list[StepRow], list[StepRow]]:
    """(rows of the memory arms' agent server, rows of an agent server with another thread count): by the rows'
    `agent_threads`; without memory arms the most common thread count counts as the first."""
    memory_arms = {m.arm for m in memory}
    counts = [r.agent_threads for r in rows if r.arm in memory_arms] or [r.agent_threads for r in rows]
    if not counts:
        return [], []
    main = max(set(counts), key=counts.count)
    return [r for r in rows if r.agent_threads == main], [r for r in rows if r.agent_threads != main]


class Calibration(BaseModel):
    """What `comem bench calibrate` writes; `simulate --calibration FILE` reads efficiency, engines, contention."""

    deployment: str
    model: str
    hardware: str
    engines: list[str]
    efficiency: Efficiency
    contention: float = 1.0  # slowdown of either server while the other computes (same host)
    agent_threads: int | None = None  # threads of the agent server `efficiency` was fitted on (None: unrecorded)
    baseline_threads: int | None = None  # an agent server with other threads (equal hardware: full on every core)
    baseline_efficiency: Efficiency | None = None  # fitted on that server's rows alone
    rows: int
    fit_rows: int
    held_out_rows: int
    mape_fit: float  # analytic model, per-step latency, rows it was fitted on
    mape_held_out: float  # same, on held-out trajectories
    validation: list[ArmCheck] = []  # simulator vs replay, per arm and concurrency
    mape_sim: float | None = None  # over all validated steps; goal <= 0.15

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def _agent_slots(rows: list[StepRow]) -> tuple[list[str], list[list[int]]]:
    """Which trajectories each agent ran, in order, in one replayed run: (trajectory list, per-agent indices)."""
    firsts: dict[int, dict[str, float]] = defaultdict(dict)
    for r in rows:
        seen = firsts[r.agent].get(r.trajectory)
        firsts[r.agent][r.trajectory] = r.started_s if seen is None else min(seen, r.started_s)
    names: list[str] = []
    slots: list[list[int]] = []
    for agent in sorted(firsts):
        order = sorted(firsts[agent], key=firsts[agent].get)  # type: ignore[arg-type]
        slots.append(list(range(len(names), len(names) + len(order))))
        names.extend(order)
    return names, slots


def validate(rows: list[StepRow], config: SimConfig, memory_summary_tokens: dict[str, int] | None = None,
             baseline: tuple[int | None, Efficiency] | None = None) -> list[ArmCheck]:
    """Simulate each replayed (arm, concurrency) run on the replayed workload and compare step by step.

    Needs the `full` (or `full-nocache`) arm for the workload; without it there is nothing to validate.
    `baseline`: (agent threads, efficiency) of a second agent server; runs on it are simulated with that efficiency.
    """
    if not {BASELINE, f"{BASELINE}-nocache"} & {r.arm for r in rows}:
        return []
    shapes = {s.name: s for s in shapes_from_replay(rows)}
    runs: dict[tuple[str, int], list[StepRow]] = defaultdict(list)
    for r in rows:
        if r.repeat == 0:
            runs[(r.arm, r.concurrency)].append(r)
    checks = []
    for (arm_name, conc), measured in sorted(runs.items()):
        try:
            arm = Arm.parse(arm_name, config.k)
        except ComemError:
            continue  # an arm the simulator does not model
        cfg = config.model_copy(update={"baseline_hardware": "agent-only"})  # the engine each arm ran on
        if baseline is not None and measured[0].agent_threads == baseline[0]:
            cfg = cfg.model_copy(update={"agent": cfg.agent.model_copy(update={"efficiency": baseline[1]})})
        if memory_summary_tokens and arm_name in memory_summary_tokens:
            cfg = cfg.model_copy(update={"settings": config.settings.model_copy(
                update={"summary_tokens": memory_summary_tokens[arm_name]})})
        names, slots = _agent_slots(measured)
        if any(n not in shapes for n in names):
            continue
        run = run_arm(cfg, arm, [shapes[n] for n in names], slots=slots)
        sim = {(s.agent, s.trajectory, s.step): s for s in run.steps}
        pairs = [(sim[(m.agent, m.trajectory, m.step)], m) for m in measured
                 if (m.agent, m.trajectory, m.step) in sim]
        if not pairs:
            continue
        checks.append(ArmCheck(
            arm=arm_name, concurrency=conc, steps=len(pairs),
            mape_total=mape([s.agent_total_s for s, _ in pairs], [m.agent_total_s for _, m in pairs]),
            mape_ttft=mape([s.agent_ttft_s for s, _ in pairs], [m.agent_ttft_s for _, m in pairs]),
            mape_decode=mape([s.decode_s for s, _ in pairs], [m.decode_s for _, m in pairs]),
            median_ratio=statistics.median(s.agent_total_s for s, _ in pairs) / statistics.median(
                m.agent_total_s for _, m in pairs),
        ))
    return checks


def summary_lengths(memory: list[MemoryRow]) -> dict[str, int]:
    """Median summary length per arm, from the replay's memory calls."""
    lengths: dict[str, list[int]] = defaultdict(list)
    for m in memory:
        if m.summary_tokens > 0:
            lengths[m.arm].append(m.summary_tokens)
    return {arm: round(statistics.median(v)) for arm, v in lengths.items()}


def calibrate(rows: list[StepRow], config: SimConfig, memory: list[MemoryRow] | None = None,
              engines: tuple[str, ...] = ("agent", "memory"), check: bool = True) -> Calibration:
    """Fit on half, report held-out error, refit on all, then (optionally) validate the simulator with the result.

    `memory`: the replay's memory calls, to account for agent calls they overlapped and to size the summaries.
    """
    spec, memory = config.agent, memory or []
    usable, other = engine_groups([r for r in rows if _usable(r)], memory)
    fit_rows, held_rows = split(usable)
    if not fit_rows or not held_rows:
        fit_rows = held_rows = usable
    half = fit(fit_rows, spec, memory, config.contention)
    half_spec = spec.model_copy(update={"efficiency": half.efficiency})
    mape_fit = mape(predict_total(fit_rows, half_spec, memory, half.contention), [r.agent_total_s for r in fit_rows])
    mape_held = mape(predict_total(held_rows, half_spec, memory, half.contention),
                     [r.agent_total_s for r in held_rows])
    full = fit(usable, spec, memory, config.contention)
    other = other if len(other) >= 3 else []  # too few to fit: left out
    base = fit(other, spec).efficiency if other else None  # no memory server ran beside it
    result = Calibration(
        deployment=config.deployment, model=spec.model.name, hardware=spec.hardware.name, engines=list(engines),
        efficiency=full.efficiency, contention=full.contention, agent_threads=usable[0].agent_threads,
        baseline_threads=other[0].agent_threads if other else None, baseline_efficiency=base, rows=len(rows),
        fit_rows=len(fit_rows), held_out_rows=len(held_rows), mape_fit=mape_fit, mape_held_out=mape_held,
    )
    if check:
        update = {name: getattr(config, name).model_copy(update={"efficiency": full.efficiency}) for name in engines}
        checks = validate(rows, config.model_copy(update={**update, "contention": full.contention}),
                          summary_lengths(memory), baseline=(result.baseline_threads, base) if base else None)
        result.validation = checks
        total = sum(c.steps for c in checks)
        result.mape_sim = sum(c.mape_total * c.steps for c in checks) / total if total else None
    return result
