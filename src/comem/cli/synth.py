"""`comem tasks synth`: synthesise SWE-style tasks by injecting bugs into a real package (registered in cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from comem.cli.common import console, progress_bar


def synth(
    package: Annotated[str, typer.Argument(help="A pinned PyPI package (inflection, isodate, more-itertools, "
                                           "semver, tabulate, toolz), any PyPI package with --version, or a "
                                           "local source directory with its tests.")],
    out: Annotated[Path, typer.Option(help="Directory to write the task dirs into (created if missing).")],
    n: Annotated[int, typer.Option("--n", help="Most tasks to write.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed for the order in which mutants are tried.")] = 0,
    version: Annotated[str | None, typer.Option(help="PyPI version. Default: the pinned one.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds the package's whole test suite may take.")] = 600,
) -> None:
    """Inject bugs into a pure-Python package and write the ones its tests catch as validated tasks."""
    from comem.tasks.synth.pipeline import SynthReport, synthesize

    with progress_bar(transient=True) as bar:
        job = bar.add_task("fetching the package", total=n)

        def on_progress(event: str, report: SynthReport) -> None:
            if event != "tried":
                bar.update(job, description=f"{report.attempted} mutants tried · {event}"[:100])
            bar.update(job, completed=len(report.written))

        report = synthesize(package, out, n=n, seed=seed, version=version, timeout_s=timeout,
                            on_progress=on_progress)
    label = f"{report.package} {report.version}" if report.version else report.package
    rejected = ", ".join(f"{count} {reason}" for reason, count in sorted(report.rejected.items())) or "none"
    console.print(f"[bold]{len(report.written)} tasks[/] from {label} -> {report.out_dir} "
                  f"({report.attempted} mutants tried of {report.candidates}; rejected: {rejected}; "
                  f"suite of {report.tests} tests ran in {report.baseline_s:.1f} s; total {report.elapsed_s:.0f} s)")
    if len(report.written) < n:
        console.print(f"[yellow]asked for {n}: no more mutants made valid tasks within the attempt budget; "
                      "try another --seed or another package.[/]")
