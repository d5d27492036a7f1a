"""`comem bench simulate`, `comem bench calibrate` and `comem bench roofline`, as plain functions the CLI registers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from comem.cli.bench import require_bench_extra
from comem.cli.common import console, int_list
from comem.core.errors import ComemError

if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
    console.width = 180
try:  # the simulator needs the `bench` extra; without it the commands still register and say what to install
    from comem.bench.sim.presets import DEPLOYMENTS

    _DEPLOYMENTS = ", ".join(DEPLOYMENTS)
except ModuleNotFoundError:
    _DEPLOYMENTS = "(install comem[bench] to list them)"
_SET_HELP = (
    "Override any setting, repeatable: key=value with a dotted key, e.g. agent.hardware.n_gpu=4, "
    "agent.hardware=h100, agent.model=deepswe-32b, agent.efficiency.bw=0.6, agent.max_num_batched_tokens=4096, "
    "memory.kv_tokens=200000, placement=shared, settings.summary_tokens=500, settings.memory_input=incremental, "
    "workload.distribution.steps.median=60, workload.distribution.steps.sigma=0, offload_gib=250, max_model_len=32000."
)


def simulate(
    deployment: Annotated[str, typer.Option(help=f"Preset: {_DEPLOYMENTS}.")] = "glm-4.7-h200",
    arms: Annotated[str, typer.Option(help="Arms, comma-separated: full, full-nocache, mask, sync[-kN], "
                                           "kso[-kN][-deadline] (no -kN: the deployment's k).")] = "full,kso",
    concurrency: Annotated[str, typer.Option(help="Agent counts, comma-separated.")] = "1,8,16,32,64,128,256",
    offload: Annotated[str, typer.Option(help="CPU KV offload tier: off, on, or both (side by side).")] = "both",
    steps: Annotated[int | None, typer.Option(help="Steps per trajectory, fixed (default: drawn, 30-100).")] = None,
    replay: Annotated[Path | None, typer.Option(help="Take trajectory shapes from a replay's steps.jsonl "
                                                     "(its full arm) instead of drawing them.")] = None,
    calibration: Annotated[Path | None, typer.Option(help="Efficiencies from `comem bench calibrate`.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
    seed: Annotated[int, typer.Option(help="Workload seed.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output dir (default: runs/sim-<deployment>-<time>).")] = None,
) -> None:
    """Simulate N closed-loop agents on a vLLM-like engine at paper scale: speedup of each arm over `full`."""
    require_bench_extra()
    from comem.bench.sim.config import load_config
    from comem.bench.sim.report import PAPER_E2E, table, write
    from comem.bench.sim.simulate import sweep

    modes = {"off": [False], "on": [True], "both": [False, True]}.get(offload)
    if modes is None:
        raise ComemError(f"Bad --offload {offload!r}.", fix="use off, on or both.")
    counts = int_list(concurrency, "--concurrency", minimum=1) or []
    pre: list[str] = [f"workload.seed={seed}"]
    if steps is not None:
        pre += [f"workload.distribution.steps.median={steps}", "workload.distribution.steps.sigma=0"]
    if replay is not None:
        pre.append(f"workload.replay={replay}")
    config = load_config(deployment, pre + list(set_ or []), calibration,
                         arms=[a.strip() for a in arms.split(",") if a.strip()])
    out = out or Path("runs") / f"sim-{deployment}-{time.strftime('%Y%m%d-%H%M%S')}"
    t0 = time.perf_counter()
    with console.status("simulating") as status:
        result = sweep(config, counts, modes, progress=lambda msg: status.update(f"simulating {msg}"))
    flat = write(result, config, out)
    a, m = config.agent, config.memory
    if config.placement == "shared":
        hardware = "memory on the agent's engine (equal hardware)"
    elif config.baseline_hardware == "equal":
        hardware = (f"memory on {m.hardware.n_gpu}x {m.hardware.name}; full and mask get those devices too "
                    f"({a.hardware.n_gpu + m.hardware.n_gpu}x: equal hardware)")
    else:
        hardware = (f"memory on {m.hardware.n_gpu}x {m.hardware.name} that full and mask do not get "
                    "(EXTRA hardware for the memory arms)")
    console.print(table(flat, f"{deployment}: {a.model.name} on {a.hardware.n_gpu}x {a.hardware.name}, {hardware}"))
    console.print(
        "S_step = mean step latency of full / of the arm; peak/step = largest ratio of per-step-index means over "
        "the indices every agent reached (not the paper's definition); S_e2e = mean trajectory wall time of full / "
        "of the arm (docs/metrics.md); +offload = with the CPU KV tier; S* = ideal-overlap bound; eta = S_e2e/S*; "
        "X/wall = exposed memory wait; S*, eta, X/wall, preemptions and hit rates are without offload where both "
        f"ran.\nPaper: {PAPER_E2E[0]}-{PAPER_E2E[1]}x end-to-end on SWE-bench Verified; GLM-4.7 by batch size in "
        "the paper column.")
    console.print(f"wrote {out}/summary.csv, summary.json, steps-*.jsonl ({time.perf_counter() - t0:.1f} s)")


def replay_deployment(replay: Path) -> str:
    """The CPU preset for the model a replay ran (from its config.json), Qwen2.5-Coder if it does not say."""
    path = (replay if replay.is_dir() else replay.parent) / "config.json"
    try:
        model = json.loads(path.read_text(encoding="utf-8"))["workload"]["agent"]["model"] or ""
    except (OSError, ValueError, KeyError, TypeError):
        model = ""
    return "cpu-smollm2" if "smollm2" in model else "cpu-qwen2.5-coder"


def calibrate(
    replay: Annotated[Path, typer.Argument(help="A `comem bench replay` output dir, or its steps.jsonl.")],
    deployment: Annotated[str | None, typer.Option(help=f"The replayed engine's preset: {_DEPLOYMENTS} "
                                                         "(default: from the replay's config.json).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="Also simulate the replayed workload and "
                                                                     "compare step by step.")] = True,
    out: Annotated[Path | None, typer.Option(help="Calibration file (default: <replay dir>/calibration.json).")
                   ] = None,
) -> None:
    """Fit the roofline efficiencies to replay measurements; report held-out and simulator-vs-replay errors."""
    require_bench_extra()
    from comem.bench.sim.calibrate import calibrate as run_calibration
    from comem.bench.sim.config import load_config
    from comem.bench.sim.workload import read_memory, read_steps

    rows = read_steps(replay)
    config = load_config(deployment or replay_deployment(replay), list(set_ or []))
    result = run_calibration(rows, config, read_memory(replay), check=check)
    path = out or (replay if replay.is_dir() else replay.parent) / "calibration.json"
    result.write(path)
    eff = result.efficiency
    console.print(f"{result.model} on {result.hardware}: bw={eff.bw:.3f} kv_bw={eff.kv_bw:.3f} mfu={eff.mfu:.3f} "
                  f"attn={eff.attn:.3f} t_fixed={eff.t_fixed_s * 1e3:.2f} ms t_request={eff.t_request_s * 1e3:.1f} ms "
                  f"contention={result.contention:.2f}x")
    if result.baseline_efficiency is not None:
        b = result.baseline_efficiency
        console.print(f"equal-hardware baseline's agent server ({result.baseline_threads} threads; memory arms' had "
                      f"{result.agent_threads}), fitted on its own rows: bw={b.bw:.3f} mfu={b.mfu:.3f} "
                      f"attn={b.attn:.3f} t_fixed={b.t_fixed_s * 1e3:.2f} ms t_request={b.t_request_s * 1e3:.1f} ms")
    console.print(f"per-step latency MAPE, analytic: fit {result.mape_fit:.1%} ({result.fit_rows} steps), "
                  f"held-out {result.mape_held_out:.1%} ({result.held_out_rows} steps)")
    if result.validation:
        t = Table(title="simulator vs replay, per step", title_justify="left")
        for col in ("arm", "agents", "steps", "MAPE total", "MAPE ttft", "MAPE decode", "median sim/replay"):
            t.add_column(col, justify="left" if col == "arm" else "right")
        for c in result.validation:
            t.add_row(c.arm, str(c.concurrency), str(c.steps), f"{c.mape_total:.1%}", f"{c.mape_ttft:.1%}",
                      f"{c.mape_decode:.1%}", f"{c.median_ratio:.2f}")
        console.print(t)
        verdict = "meets" if result.mape_sim is not None and result.mape_sim <= 0.15 else "misses"
        console.print(f"simulator per-step MAPE {result.mape_sim:.1%} ({verdict} the 15% goal)")
    console.print(f"wrote {path}; use it with `comem bench simulate --calibration {path}`")


def roofline() -> None:
    """Check the simulator's step times against NVIDIA AIConfigurator's estimates (docs/simulator.md §2.7)."""
    require_bench_extra()
    from comem.bench.sim.reference import GOAL, compare

    rows = compare()
    t = Table(title="roofline vs AIConfigurator (static batch; step = ttft + 300 tpot)", title_justify="left")
    for col in ("deployment", "metric", "batch", "prompt", "cached", "AIConfigurator", "roofline", "error", "note"):
        t.add_column(col, justify="left" if col in ("deployment", "metric", "note") else "right")
    for c in rows:
        p = c.point
        scale, unit = (1e3, "ms") if p.metric == "tpot" else (1.0, "s")
        t.add_row(p.group, p.metric, str(p.batch), f"{p.prompt:,}", f"{p.cached:,}", f"{p.seconds * scale:.4g} {unit}",
                  f"{c.predicted_s * scale:.4g} {unit}", f"{c.error:+.1%}", p.note)
    console.print(t)
    worst = max(rows, key=lambda c: abs(c.error))
    verdict = "within" if abs(worst.error) <= GOAL else "OUTSIDE"
    console.print(f"{len(rows)} points; largest error {worst.error:+.1%} ({worst.point.group} {worst.point.metric} "
                  f"batch {worst.point.batch}): {verdict} the {GOAL:.0%} goal")
