"""`comem bench …`: replay on real engines, simulate at GPU scale, calibrate the simulator to replays."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from comem.bench.replay.runner import ReplayConfig
from comem.cli.common import console, csv_list, int_list, resumable
from comem.context.arms import GRAMMAR
from comem.core.config import default_of, first_error
from comem.core.errors import ComemError
from comem.llm.endpoint import ModelConfig

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
    tool_scale: Annotated[float, typer.Option(help="Multiply recorded tool times.")]
    = default_of(ReplayConfig, "tool_scale"),
    tool_time: Annotated[float | None, typer.Option(help="Use this tool time (s) for every step instead.")] = None,
    agent_model: Annotated[str, typer.Option(help="Bundled name or GGUF path (embedded), or the served name "
                                             "with --agent-url.")] = default_of(ModelConfig, "model"),
    memory_model: Annotated[str, typer.Option(help="Same, for the memory model.")] = default_of(ModelConfig, "model"),
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (vLLM, SGLang, llama.cpp).",
                                                  envvar="COMEM_AGENT_URL")] = None,
    memory_url: Annotated[str | None, typer.Option(help="Same, for the memory model.", envvar="COMEM_MEMORY_URL")]
    = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the URLs (default $OPENAI_API_KEY).")] = None,
    n_ctx: Annotated[int, typer.Option(help="Context per request of embedded servers.")]
    = default_of(ModelConfig, "n_ctx"),
    seed: Annotated[int, typer.Option(help="Seed for the arm order.")] = default_of(ReplayConfig, "seed"),
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/replay-<time>); reusing one "
                                             "resumes it.")] = None,
) -> None:
    """Replay recorded trajectories step by step on a real engine under each context strategy, and report
    per-step latency, end-to-end speedup, the ideal bound S*, pipeline efficiency and exposed memory time."""
    require_bench_extra(("matplotlib",))
    from comem.bench.replay.report import to_table, write_report
    from comem.bench.replay.runner import read_rows, run_replay

    agent = {"model": agent_model, "url": agent_url, "api_key": api_key, "n_ctx": n_ctx}
    memory = {**agent, "model": memory_model, "url": memory_url}
    try:
        config = ReplayConfig(
            source=source, trajectories=trajectories, steps=steps, repeats=repeats, output_tokens=output_tokens,
            memory_max_tokens=memory_max_tokens, memory_input=memory_input, tool_scale=tool_scale,
            tool_time_s=tool_time, agent=agent, memory=memory, seed=seed,
            **{k: v for k, v in {"arms": csv_list(arms),
                                 "concurrency": int_list(concurrency, "--concurrency", minimum=1)}.items()
               if v is not None})
    except ValidationError as exc:
        raise ComemError(f"Invalid replay settings: {first_error(exc)}.", fix="see `comem bench replay --help`.") \
            from None
    run_dir = out or Path("runs") / datetime.now().strftime("replay-%Y%m%d-%H%M%S")
    console.print(f"[bold]comem bench replay[/] arms {', '.join(config.arms)} · concurrency "
                  f"{', '.join(map(str, config.concurrency))} -> {run_dir}")
    with resumable(run_dir, "starting engines") as tracker:
        asyncio.run(run_replay(config, run_dir, tracker.labelled))
    rows = read_rows(run_dir)
    if not rows[0]:
        raise ComemError(f"{run_dir} holds no completed replay runs.", fix="run without --out to start a new one.")
    console.print(to_table(write_report(run_dir, *rows)))
    console.print(f"results: {run_dir} (summary.md, steps.csv, figures.csv, *.png)")
