"""`comem bench …`: replay on real engines, simulate at GPU scale, calibrate the simulator to replays."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, NamedTuple

import typer
from pydantic import ValidationError
from rich.table import Table

from comem.bench.replay.runner import ReplayConfig
from comem.cli.common import MEMORY_VIEW_HELP, console, csv_list, int_list, resumable
from comem.context.arms import GRAMMAR
from comem.core.config import default_of, first_error
from comem.core.errors import ComemError
from comem.core.metrics import BASELINE, EngineCurve, HorizonShape
from comem.llm.endpoint import AGENT_ENGINE, ModelConfig, thread_plan

bench_app = typer.Typer(help="Latency benchmarks: matched replay, serving simulation, calibration.",
                        no_args_is_help=True)


def require_bench_extra(modules: tuple[str, ...] = ("simpy", "numpy", "matplotlib")) -> None:
    """The benchmarks' own dependencies live in the `bench` extra; say so instead of a ModuleNotFoundError."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ComemError(f"`comem bench` needs {', '.join(missing)}, which is not installed.",
                         fix="pip install -e '.[bench]' (or pip install 'comem[bench]').")


def _list(model: type, field: str) -> str:
    return ",".join(map(str, default_of(model, field)))


def replay(
    source: Annotated[str | None, typer.Option("--from", help="Trajectories to replay: a `comem run` directory or "
                                               "trajectory file, SWE-agent .traj, or R2E-Gym JSONL. Default: "
                                               "sample trajectories made with the real tools on bundled tasks.")]
    = None,
    trajectories: Annotated[int, typer.Option(help="How many trajectories to load or make.")]
    = default_of(ReplayConfig, "trajectories"),
    steps: Annotated[int | None, typer.Option(help="Replay only the first N steps of each.")] = None,
    arms: Annotated[str | None, typer.Option(help=f"Comma-separated arms in the grammar {GRAMMAR}. Default: "
                                             f"{_list(ReplayConfig, 'arms')}.")] = None,
    concurrency: Annotated[str | None, typer.Option(help="Comma-separated numbers of agents in closed loop. "
                                                    f"Default {_list(ReplayConfig, 'concurrency')}.")]
    = None,
    repeats: Annotated[int, typer.Option(help="Runs per arm and concurrency (arm order shuffled per repeat).")]
    = default_of(ReplayConfig, "repeats"),
    output_tokens: Annotated[int | None, typer.Option(help="Force every agent call to this many output tokens. "
                                                      "Default: the recorded reply length.")] = None,
    memory_max_tokens: Annotated[int, typer.Option(help="Forced summary length in tokens (short, so CPU replays "
                                                   "stay quick).")] = default_of(ReplayConfig, "memory_max_tokens"),
    memory_input: Annotated[str, typer.Option(help="from_scratch (paper) or incremental.")]
    = default_of(ReplayConfig, "memory_input"),
    memory_view: Annotated[str, typer.Option(help=MEMORY_VIEW_HELP)] = default_of(ReplayConfig, "memory_view"),
    ledger_tokens: Annotated[int, typer.Option(help="The ledger's token budget (memory_view ledger or both).")]
    = default_of(ReplayConfig, "ledger_tokens"),
    tool_scale: Annotated[float, typer.Option(help="Multiply recorded tool times.")]
    = default_of(ReplayConfig, "tool_scale"),
    tool_time: Annotated[float | None, typer.Option(help="Use this tool time (s) for every step instead.")] = None,
    agent_model: Annotated[str, typer.Option(help="Bundled name or GGUF path (embedded), or the served name "
                                             "with --agent-url.")] = default_of(ModelConfig, "model"),
    memory_model: Annotated[str, typer.Option(help="Same, for the memory model; agent: the agent's own engine "
                                              "serves it (one server, every core).")]
    = default_of(ModelConfig, "model"),
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (vLLM, SGLang, llama.cpp).",
                                                  envvar="COMEM_AGENT_URL")] = None,
    memory_url: Annotated[str | None, typer.Option(help="Same, for the memory model.", envvar="COMEM_MEMORY_URL")]
    = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the URLs (default $OPENAI_API_KEY).")] = None,
    n_ctx: Annotated[int, typer.Option(help="Context per request of embedded servers.")]
    = default_of(ModelConfig, "n_ctx"),
    seed: Annotated[int, typer.Option(help="Seed for the arm order.")] = default_of(ReplayConfig, "seed"),
    extra_hardware: Annotated[bool, typer.Option(help="Also run full on the memory arms' agent cores only and show "
                                                 "the 'memory on extra hardware' speedups beside the equal-hardware "
                                                 "ones.")] = default_of(ReplayConfig, "extra_hardware"),
    instant_star: Annotated[bool, typer.Option("--instant-star/--same-run-star", help="S* from a run of each "
                                               "memory arm with instant memory (honest; one more run per arm), or "
                                               "from the arm's own run (an upper estimate, marked ~).")]
    = default_of(ReplayConfig, "instant_star"),
    curve: Annotated[Path | None, typer.Option(help="Engine curves from `comem bench curve` (its directory or one "
                                               "file): print the kso bound for the replayed trajectories beside "
                                               "the table, each arm on the curve of the threads it ran on.")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/replay-<time>); reusing one "
                                             "resumes it.")] = None,
) -> None:
    """Replay recorded trajectories step by step on a real engine under each context strategy, and report
    per-step latency, end-to-end speedup, the ideal bound S*, pipeline efficiency and exposed memory time.
    Every arm gets the same cores: an arm without a memory model runs its agent on all of them."""
    require_bench_extra(("matplotlib",))
    from comem.bench.replay.report import EXTRA, to_table, write_report
    from comem.bench.replay.runner import read_rows, run_replay

    agent = {"model": agent_model, "url": agent_url, "api_key": api_key, "n_ctx": n_ctx}
    memory = {**agent, "model": memory_model, "url": memory_url}
    try:
        config = ReplayConfig(
            source=source, trajectories=trajectories, steps=steps, repeats=repeats, output_tokens=output_tokens,
            memory_max_tokens=memory_max_tokens, memory_input=memory_input, memory_view=memory_view,
            ledger_tokens=ledger_tokens, tool_scale=tool_scale,
            tool_time_s=tool_time, agent=agent, memory=memory, seed=seed, extra_hardware=extra_hardware,
            instant_star=instant_star,
            **{k: v for k, v in {"arms": csv_list(arms),
                                 "concurrency": int_list(concurrency, "--concurrency", minimum=1)}.items()
               if v is not None})
    except ValidationError as exc:
        raise ComemError(f"Invalid replay settings: {first_error(exc)}.", fix="see `comem bench replay --help`.") \
            from None
    saved = read_curves(curve) if curve is not None else {}
    run_dir = out or Path("runs") / datetime.now().strftime("replay-%Y%m%d-%H%M%S")
    console.print(f"[bold]comem bench replay[/] arms {', '.join(config.arms)} · concurrency "
                  f"{', '.join(map(str, config.concurrency))} -> {run_dir}")
    with resumable(run_dir, "starting engines") as tracker:
        asyncio.run(run_replay(config, run_dir, tracker.labelled))
    rows = read_rows(run_dir)
    if not rows[0]:
        raise ComemError(f"{run_dir} holds no completed replay runs.", fix="run without --out to start a new one.")
    figs, extra = write_report(run_dir, *rows)
    console.print(to_table(figs))
    if extra:
        console.print(to_table(extra, EXTRA))
    if saved:
        from comem.bench.engine_curve import shape_from_replay

        shape, n = shape_from_replay(rows[0], config.memory_max_tokens)
        kso = [a for a in config.replay_arms() if a.strategy.name == "kso" and not a.instant_memory]
        ks = sorted({a.strategy.k for a in kso if a.strategy.k}) or [4]
        ran = {r.arm: r.agent_threads for r in rows[2]}
        mine = pick_curve(saved, next((ran[a.label] for a in kso if a.label in ran), None))
        base = pick_curve(saved, ran.get(BASELINE))
        console.print(bound_table(mine, shape, sorted({n, *BOUND_STEPS}), ks,
                                  f"kso bound for these trajectories (head {shape.head_tokens}, +{shape.step_tokens} "
                                  f"tokens a step, summary {shape.summary_tokens}, tool {shape.tool_s:.2f} s)",
                                  baseline=base))
        if config.memory.model == AGENT_ENGINE:
            console.print(one_engine_table(base, shape, sorted({n, *BOUND_STEPS}), ks))
    console.print(f"results: {run_dir} (summary.md, steps.csv, figures.csv, *.png)")


BOUND_STEPS = (30, 60, 100)


def read_curves(path: Path) -> dict[int | None, EngineCurve]:
    """Curves by thread count: one curve-*.json file, or every one in a directory (as `comem bench curve` writes)."""
    from comem.bench.engine_curve import CurveResult

    files = sorted(path.glob("curve-*.json")) if path.is_dir() else [path]
    try:
        curves = [CurveResult.model_validate_json(f.read_text(encoding="utf-8")).curve for f in files]
    except (OSError, ValidationError) as exc:
        raise ComemError(f"Cannot read an engine curve from {path}: {exc.__class__.__name__}.",
                         fix="pass a curve-N.json that `comem bench curve` wrote, or its directory.") from None
    if not curves:
        raise ComemError(f"{path} holds no curve-*.json.", fix="run `comem bench curve --out DIR` first.")
    return {c.threads: c for c in curves}


def pick_curve(curves: dict[int | None, EngineCurve], threads: int | None) -> EngineCurve:
    """The curve measured with `threads`; else the one with the nearest thread count (the table names it)."""
    if threads in curves:
        return curves[threads]
    return min(curves.values(), key=lambda c: abs((c.threads or 0) - (threads or 0)))


def bound_table(curve: EngineCurve, shape: HorizonShape, steps: list[int], ks: list[int], title: str,
                baseline: EngineCurve | None = None) -> Table:
    """S*_bound at each step count and k, and where kso can first win (formula: docs/metrics.md); `baseline`: the
    curve `full` runs on, where it differs from kso's agent server."""
    from comem.core.metrics import kso_bound

    where = f"{curve.threads or '-'} threads"
    if baseline is not None and baseline.threads != curve.threads:
        where = f"kso's agent on {curve.threads} threads, full on {baseline.threads}"
    return bounds_table(f"{title} · {curve.model}, {where}", steps,
                        {str(k): partial(kso_bound, curve, shape, k=k, baseline=baseline) for k in ks})


def one_engine_table(curve: EngineCurve, shape: HorizonShape, steps: list[int], ks: list[int]) -> Table:
    """The bound with the memory model on the agent's own engine (`memory: agent`), each memory input and k
    (formula: docs/metrics.md)."""
    from comem.core.metrics import one_engine_bound

    template = memory_template_tokens()
    rows = {f"{k}, {m}": partial(one_engine_bound, curve, shape, k=k, memory_input=m, template_tokens=template)
            for k in ks for m in ("incremental", "from_scratch")}
    return bounds_table(f"kso bound with its memory model on the agent's own engine (memory: agent; every update "
                        f"costs its time unless it runs during tool time) · {curve.model}, {curve.threads or '-'} "
                        "threads", steps, rows, "k, memory input")


def bounds_table(title: str, steps: list[int], rows: dict[str, Callable[..., float]], label: str = "k") -> Table:
    """One row per bound: where it first exceeds 1, and its value at each step count."""
    from comem.core.metrics import first_win

    t = Table(title=title, title_justify="left")
    t.add_column(label)
    t.add_column("first win at", justify="right")
    for n in steps:
        t.add_column(f"S* bound {n} steps", justify="right")
    for name, bound in rows.items():
        first = first_win(lambda n, bound=bound: bound(steps=n))
        t.add_row(name, "never (<= 1000)" if first is None else f"{first} steps",
                  *(f"{bound(steps=n):.2f}" for n in steps))
    return t


def curve_command(
    model: Annotated[str, typer.Option(help="Bundled name or GGUF path (embedded), or the served name with --url.")]
    = default_of(ModelConfig, "model"),
    url: Annotated[str | None, typer.Option(help="A llama.cpp server's OpenAI-compatible URL instead.")] = None,
    threads: Annotated[str | None, typer.Option(help="Comma-separated CPU thread counts to measure (one embedded "
                                                "server each). Default: all cores.")] = None,
    prefixes: Annotated[str, typer.Option(help="Cached prefix sizes C (tokens).")] = "8192,4096,2048,512",
    prefills: Annotated[str, typer.Option(help="Prompt sizes of the full re-prefills (tokens).")] = "512,1536",
    new_tokens: Annotated[int, typer.Option(help="T: tokens appended per call (a step's reply + observation).")]
    = 300,
    output_tokens: Annotated[int, typer.Option(help="D: tokens decoded per call.")] = 80,
    head_tokens: Annotated[int, typer.Option(help="The bound's pinned head (system prompt + task), tokens.")]
    = 1000,
    summary_tokens: Annotated[int, typer.Option(help="The bound's summary length, tokens.")] = 128,
    repeats: Annotated[int, typer.Option(help="Calls per point (the lines are fitted to all of them).")] = 2,
    k: Annotated[str, typer.Option(help="kso periods for the bound.")] = "4",
    tool_time: Annotated[float, typer.Option(help="Tool time per step in the bound (s).")] = 0.0,
    n_ctx: Annotated[int, typer.Option(help="Context of the embedded server.")] = default_of(ModelConfig, "n_ctx"),
    out: Annotated[Path, typer.Option(help="Directory for curve-<threads>.json.")] = Path("runs/curve"),
    source: Annotated[Path | None, typer.Option("--from", help="Print the bounds of curves measured before (a "
                                                "curve-N.json or its directory) instead of measuring.")] = None,
    memory_from: Annotated[Path | None, typer.Option(help="The memory model's curves, measured before (a curve-N.json "
                                                     "or its directory, e.g. from `comem bench curve --model "
                                                     "smollm2-135m --threads 1 --out runs/curve-smollm2`), to check "
                                                     "whether its updates hide in their slack. Default: this model's "
                                                     "own curves stand in.")] = None,
) -> None:
    """Measure this machine's engine curve (append T tokens to a cached prefix of C and decode D, a + b·C; full
    re-prefills) and print the kso bound: the steps at which kso can first win, and its best-case S* at 30/60/100
    steps (memory fully hidden, pinned head cached, one agent), and the same with the memory's updates paid on the
    agent's own engine (`memory: agent`); then whether a memory update, from scratch or incremental, fits in the
    one agent step of slack it has."""
    from comem.bench.engine_curve import measure_curve
    from comem.core.metrics import HorizonShape
    from comem.llm.open import open_model

    counts = int_list(threads, "--threads", minimum=1) or [None]
    sizes = int_list(prefixes, "--prefixes", minimum=1) or []
    lengths = int_list(prefills, "--prefills", minimum=1) or []
    periods = int_list(k, "--k", minimum=1) or [4]
    spec = ModelConfig.parse(url or model, n_ctx=n_ctx)
    if spec.url:
        counts = [None]
    if len(set(sizes)) < 2 or len(set(lengths)) < 2:
        raise ComemError("The curve needs two or more distinct --prefixes and --prefills to fit its lines.",
                         fix="pass e.g. --prefixes 512,2048,4096 --prefills 512,1536.")
    need = max(sizes, default=0) + new_tokens + output_tokens + 64
    if need > n_ctx:
        raise ComemError(f"The largest prefix needs about {need} tokens of context, above --n-ctx {n_ctx}.",
                         fix="pass smaller --prefixes or a larger --n-ctx.")
    shape = HorizonShape(head_tokens=head_tokens, step_tokens=new_tokens, summary_tokens=summary_tokens,
                         tool_s=tool_time)
    memory = read_curves(memory_from) if memory_from is not None else None
    measured: dict[int | None, EngineCurve] = read_curves(source) if source is not None else {}
    for c in measured.values():
        print_curve(c, shape, periods, head_tokens + summary_tokens + 2 * c.new_tokens)
    if source is None:
        out.mkdir(parents=True, exist_ok=True)

    async def measure(count: int | None):
        cores = count or (os.cpu_count() or 1)
        async with open_model(spec, "curve", out / "logs", cores, extra_body={"ignore_eos": True}) as llm:
            return await measure_curve(llm, threads=None if spec.url else cores, prefixes=sizes, prefills=lengths,
                                       new_tokens=new_tokens, output_tokens=output_tokens, repeats=repeats)

    for count in counts if source is None else []:
        before = os.getloadavg()[0]
        console.print(f"[bold]comem bench curve[/] {spec.model}, {count or 'all'} threads: load {before:.2f} "
                      "(1-min average; other work on the machine inflates every figure)")
        result = asyncio.run(measure(count))
        result.load = (before, os.getloadavg()[0])
        c = result.curve
        path = out / f"curve-{c.threads or 'url'}.json"
        path.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
        t = Table(title="measured calls", title_justify="left")
        for col in ("kind", "cached", "new", "output", "ttft s", "total s"):
            t.add_column(col, justify="left" if col == "kind" else "right")
        for p in result.points:
            t.add_row(p.kind, str(p.cached_tokens), str(p.new_tokens), str(p.output_tokens), f"{p.ttft_s:.2f}",
                      f"{p.total_s:.2f}")
        console.print(t)
        print_curve(c, shape, periods, head_tokens + summary_tokens + 2 * new_tokens)
        console.print(f"load average {result.load[0]:.2f} before, {result.load[1]:.2f} after; wrote {path}")
        measured[c.threads] = c
    split, every = thread_plan(spec, spec, need_memory=True)[0], thread_plan(spec, spec, need_memory=False)[0]
    if split != every and {split, every} <= set(measured):
        console.print(bound_table(measured[split], shape, list(BOUND_STEPS), periods,
                                  "kso bound on equal hardware (kso's agent on its share of the cores, its memory "
                                  "model on the rest; full on every core)", baseline=measured[every]))
    if every in measured:
        console.print(one_engine_table(measured[every], shape, list(BOUND_STEPS), periods))
    print_memory_check(measured, memory, spec, shape, periods)
    console.print(f"print the bound beside a replay with `comem bench replay --curve {source or out}`")


def print_curve(c: EngineCurve, shape: HorizonShape, periods: list[int], bounded: int) -> None:
    """The fitted curve in one line, then its bound with kso and full on this one curve."""
    refill = c.prefill_call_s(bounded)
    console.print(f"{c.model}, {c.threads or '-'} threads: append {c.new_tokens} + decode {c.output_tokens}: "
                  f"{c.append_s:.2f} s + {c.per_cached_s * 1e3:.3f} ms x C · each further new token "
                  f"{c.per_new_s * 1e3:.2f} ms · full re-prefill of a {bounded}-token bounded prompt {refill:.1f} s = "
                  f"{refill / c.call_s(bounded, c.new_tokens):.1f}x a steady bounded step")
    if c.per_cached_s <= 0 or c.per_new_s <= 0:
        console.print("[yellow]The fitted slopes are not positive: the calls were too noisy (other work on the "
                      "machine?). Measure again when it is idle, or with more --repeats.[/]")
    console.print(bound_table(c, shape, list(BOUND_STEPS), periods,
                              f"kso bound (head {shape.head_tokens}, +{shape.step_tokens} tokens a step, summary "
                              f"{shape.summary_tokens}, tool {shape.tool_s:.1f} s)"))


def memory_template_tokens() -> tuple[int, int]:
    """Estimated tokens of the memory prompt's text before and after its conversation (memory_v5.txt)."""
    from comem.context.base import estimate_tokens
    from comem.context.memory import load_prompt

    head, tail = load_prompt("memory_v5.txt").split("{conversation}")
    return estimate_tokens(head), estimate_tokens(tail)


def print_memory_check(agent_curves: dict[int | None, EngineCurve], memory_curves: dict[int | None, EngineCurve] | None,
                       spec: ModelConfig, shape: HorizonShape, periods: list[int]) -> None:
    """The memory update against its slack (formulas: docs/metrics.md): the memory model on its share of the cores,
    kso's agent on the rest; this model's own curves stand in for a memory model not given."""
    agent_threads, memory_threads = thread_plan(spec, spec, need_memory=True)
    agent = pick_curve(agent_curves, agent_threads)
    memory = pick_curve(memory_curves or agent_curves, memory_threads)
    rows = memory_costs(agent, memory, shape, periods)
    whose = "" if memory_curves else " (this model's own curve stands in; pass --memory-from)"
    console.print(memory_table(rows, f"memory update against its slack · memory {memory.model} on "
                                     f"{memory.threads or '-'} threads{whose}, kso's agent {agent.model} on "
                                     f"{agent.threads or '-'} threads, tool {shape.tool_s:.1f} s"))
    console.print(memory_verdict(rows))


class MemoryCost(NamedTuple):
    """One row of the memory check: by `steps`, the launch at iteration `launch` with period k, its cost each way
    and its slack (seconds)."""

    steps: int
    k: int
    launch: int
    from_scratch_s: float
    incremental_s: float
    slack_s: float


def memory_costs(agent: EngineCurve, memory: EngineCurve, shape: HorizonShape, periods: list[int],
                 ) -> list[MemoryCost]:
    """For each of `BOUND_STEPS` and k: the last launch by then and what its update costs each way, and its slack."""
    from comem.core.metrics import last_launch, memory_call_s, memory_slack_s

    template = memory_template_tokens()
    rows = []
    for steps in BOUND_STEPS:
        for k in periods:
            n = last_launch(steps, k)
            if n > 0:
                rows.append(MemoryCost(steps, k, n, memory_call_s(memory, shape, n, k, "from_scratch", template),
                                       memory_call_s(memory, shape, n, k, "incremental", template),
                                       memory_slack_s(agent, shape, n, k)))
    return rows


def memory_table(rows: list[MemoryCost], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("steps", "k", "launch n", "from_scratch s", "incremental s", "slack s", "hides"):
        t.add_column(col, justify="right")
    for steps, k, n, scratch, incremental, slack in rows:
        hides = [name for name, cost in (("from_scratch", scratch), ("incremental", incremental)) if cost <= slack]
        t.add_row(str(steps), str(k), str(n), f"{scratch:.1f}", f"{incremental:.1f}", f"{slack:.1f}",
                  ", ".join(hides) or "neither")
    return t


def memory_verdict(rows: list[MemoryCost]) -> str:
    """One line: the memory input that is cheaper at every row (from step 30 on), and where an update hides."""
    if not rows:
        return "memory input: no launch by these step counts (k above them)."
    if all(inc < scratch for *_, scratch, inc, _ in rows):
        cheaper = "incremental is cheaper than from_scratch"
    elif all(scratch <= inc for *_, scratch, inc, _ in rows):
        cheaper = "from_scratch is as cheap as incremental or cheaper"
    else:
        cheaper = "neither memory input is cheaper at every step count and k (see the table)"
    fits: dict[int, list[str]] = {}
    for steps, k, _, scratch, inc, slack in rows:
        if min(scratch, inc) <= slack:
            fits.setdefault(k, []).append(str(steps))
    closest = min(min(scratch, inc) / slack for *_, scratch, inc, slack in rows)
    where = "; ".join(f"k={k} at {', '.join(steps)} steps" for k, steps in fits.items())
    hides = (f"an update hides in one agent step with {where}" if fits else
             f"no update hides in one agent step (the cheaper one takes at least {closest:.1f}x its slack: a faster "
             "memory model, more tool time or late_policy deadline's k steps of slack would be needed)")
    return f"memory input on this machine from step {BOUND_STEPS[0]} on: {cheaper}; {hides}."
