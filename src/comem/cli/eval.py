"""`comem eval` (and the execution half of `comem run`): plan, run with a live per-arm progress display, report."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from comem.cli.common import console, csv_list, err, int_list, interrupted
from comem.core.errors import ComemError

if TYPE_CHECKING:
    from comem.core.records import Step
    from comem.eval.engine import Events
    from comem.eval.results import EpisodeResult
    from comem.eval.suite import Episode, EvalConfig

VERDICT = {True: "[green]resolved", False: "[red]unresolved", None: "[dim]not graded"}


class EpisodeProgress:
    """One bar per arm (done/total, elapsed), a bar for the whole run with its ETA, one line per finished episode.

    The ETA is the run's own: the mean wall time of the episodes this session finished, times the episodes left.
    (rich's speed estimate keeps 30 s of samples, so with episodes of minutes it never showed one.)"""

    def __init__(self, arms: list[str], episodes: list[Episode]) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[eta]}"), console=console)
        self.totals = Counter(e.arm.key for e in episodes)
        self.width = max(map(len, arms), default=4)
        self.bars = {arm: self.progress.add_task(arm.rjust(self.width), total=self.totals[arm], eta="")
                     for arm in arms}
        self.run_bar = self.progress.add_task("all".rjust(self.width), total=len(episodes),
                                              eta="eta after the first episode")
        self.started, self.ran = time.monotonic(), 0
        self.resumed: Counter[str] = Counter()
        self.unfinished = 0  # episodes of this run that raised: recorded, not counted, retried by a rerun

    def __enter__(self) -> EpisodeProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def events(self) -> Events:
        from comem.eval.engine import Events

        return Events(done=self.done, step=self.step)

    def step(self, episode: Episode, step: Step) -> None:
        self.progress.update(self.bars[episode.arm.key],
                             description=f"{episode.arm.key.rjust(self.width)} · {episode.task_id} · step "
                                         f"{step.index + 1}")

    def done(self, episode: Episode, result: EpisodeResult, skipped: bool) -> None:
        arm = episode.arm.key
        if skipped:  # earlier results: shown as done, but kept out of the speed behind the ETA
            self.resumed[arm] += 1
            self.progress.reset(self.bars[arm], total=self.totals[arm], completed=self.resumed[arm])
            self.progress.update(self.run_bar, advance=1)
            return
        self.progress.update(self.bars[arm], advance=1, description=arm.rjust(self.width))
        self.ran += 1
        left = self.progress.tasks[self.run_bar].total - self.progress.tasks[self.run_bar].completed - 1
        eta = (time.monotonic() - self.started) / self.ran * max(0, left)
        self.progress.update(self.run_bar, advance=1, eta=f"eta {int(eta // 60)}:{int(eta % 60):02d}" if left else "")
        seed = f" seed {episode.seed}" if episode.seed else ""
        if not result.finished:
            self.unfinished += 1
            self.progress.console.print(f"  {arm.rjust(self.width)} {escape(episode.task_id)}{seed}: [red]did not "
                                        f"finish[/] ({result.exit_reason}): {escape(result.error or '')}")
            return
        self.progress.console.print(
            f"  {arm.rjust(self.width)} {escape(episode.task_id)}{seed}: {VERDICT[result.resolved]}[/] after "
            f"{result.steps} steps, {result.wall_s:.0f} s ({result.exit_reason})")


def assembly_notices(config: EvalConfig) -> list[str]:
    """A line for each bundled model that is about to be assembled from its packages (the first run only)."""
    from comem.llm.models import MODELS, needs_assembly

    names = {spec.model for spec in (config.agent, *([config.memory] if config.needs_memory() else [])) if not spec.url}
    return [f"Assembling the bundled model {name} from its {len(MODELS[name].parts)} installed packages (first run "
            "only, a few seconds)..." for name in sorted(names) if needs_assembly(name)]


def adapter_notices(config: EvalConfig) -> list[str]:
    """A line when the memory is a bundled adapter and some task source is not of the kind it was trained on."""
    from comem.llm.models import adapter_at
    from comem.tasks.sources import source_prefix

    adapter = adapter_at(config.memory.lora) if config.needs_memory() and not config.memory.url else None
    if adapter is None or not adapter.task_sources:
        return []
    others = [source for source in config.tasks if source_prefix(source) not in adapter.task_sources]
    if not others:
        return []
    return [adapter.other_work_note(f"not on {', '.join(others)}", "--memory-view ledger")]


def execute(config: EvalConfig, title: str, *, executor: str = "local", ray_address: str | None = "auto") -> Path:
    """Run the configured suite with progress, then write and print the report. Returns the run directory."""
    from comem.core.secrets import hide_secrets
    from comem.eval.engine import Executor, Interrupted, arm_threads, run_suite
    from comem.eval.results import read_incidents
    from comem.eval.suite import plan, select_tasks
    from comem.report.plain import solved_sentence, speed_sentence
    from comem.report.tables import to_table
    from comem.report.write import write_report

    hide_secrets()  # before any tool runs: they could read this process's environment
    if executor not in ("local", "ray"):
        raise ComemError(f"Unknown executor {executor!r}.", fix="use --executor local or --executor ray.")
    tasks = select_tasks(config)
    episodes = plan(config, tasks)
    run_dir = config.resolved_out_dir()
    arms = [a.key for a in config.arms]
    console.print(f"[bold]{title}[/] {len(tasks)} tasks x {len(arms)} arms ({', '.join(arms)}) x "
                  f"{len(config.seeds)} seed{'s' if len(config.seeds) > 1 else ''} = {len(episodes)} episodes, "
                  f"{config.concurrency} at a time ({executor}) -> {run_dir}")
    for line in assembly_notices(config) + adapter_notices(config):
        console.print(line)
    stopped, load_before = False, os.getloadavg()[0]
    with EpisodeProgress(arms, episodes) as progress:
        try:
            asyncio.run(run_suite(config, run_dir, episodes, progress.events(), executor=cast(Executor, executor),
                                  ray_address=ray_address))
        except (KeyboardInterrupt, Interrupted):
            stopped = True
    if stopped:  # said once the live bars are gone, so they cannot overwrite it
        raise interrupted(run_dir) from None
    try:
        rows, note = write_report(run_dir)
    except ComemError:
        if not progress.unfinished:
            raise
    else:  # no report when no episode finished
        console.print(to_table(rows, title))
        console.print(escape(solved_sentence(rows)))
        console.print(escape(speed_sentence(rows, local_models=not config.agent.url, threads=arm_threads(config),
                                            load=(load_before, os.getloadavg()[0]),
                                            memory_model=config.needs_memory())))
        if note:
            console.print(escape(note))
        console.print(f"results: {run_dir} (summary.md, summary.json" + (")" if note else ", *.png)"))
    for line in read_incidents(run_dir):
        err.print(f"[bold red]incident:[/] {escape(line)}")
    if progress.unfinished:
        err.print(f"{progress.unfinished} episode{'s' if progress.unfinished > 1 else ''} did not finish; rerun with "
                  f"--out {run_dir} to retry {'them' if progress.unfinished > 1 else 'it'} (why: the last line of "
                  "each trajectory).")
        raise typer.Exit(1)
    return run_dir


def eval_command(
    config: Annotated[Path, typer.Argument(help="YAML eval config: tasks (sources), arms, seeds, concurrency, "
                                                "episode_timeout_s, agent, memory, loop (see comem/eval/README.md).")],
    out: Annotated[Path | None, typer.Option(help="Run directory. Default runs/<timestamp>. Reusing one resumes "
                                                  "it.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task sources: bundled, a task dir, a .jsonl, "
                                                   "or prefix:ARGS for registered loaders.")] = None,
    task_ids: Annotated[str | None, typer.Option(help="Comma-separated instance_ids to run.")] = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N tasks.")] = None,
    seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds; each is a separate episode.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Episodes in flight.")] = None,
    episode_timeout_s: Annotated[float | None, typer.Option(help="Hard time limit per episode.")] = None,
    executor: Annotated[str, typer.Option(help="local (asyncio in this process) or ray (tasks on a Ray "
                                               "cluster).")] = "local",
    ray_address: Annotated[str, typer.Option(help="Ray cluster address (auto: the one on this machine).")] = "auto",
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL for the agent.",
                                                  envvar="COMEM_AGENT_URL")] = None,
    memory_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL for the memory model.",
                                                   envvar="COMEM_MEMORY_URL")] = None,
    grade: Annotated[bool | None, typer.Option(help="Run the grader after each episode.")] = None,
) -> None:
    """Evaluate at scale: task sources x arms x seeds, concurrent and resumable, locally or on Ray; then report."""
    from comem.eval.config import load_config
    from comem.eval.suite import EvalConfig

    seed_list = int_list(seeds, "--seeds")
    overrides = {key: value for key, value in {
        "out_dir": out, "tasks": csv_list(tasks), "task_ids": csv_list(task_ids), "limit": limit, "seeds": seed_list,
        "concurrency": concurrency, "episode_timeout_s": episode_timeout_s, "grade": grade,
        "agent": {"url": agent_url} if agent_url else None, "memory": {"url": memory_url} if memory_url else None,
    }.items() if value is not None}
    if not config.is_file():
        raise ComemError(f"Eval config {config} does not exist.", fix="pass a YAML file (see comem/eval/README.md).")
    execute(load_config(config, overrides, EvalConfig), "comem eval", executor=executor, ray_address=ray_address)
