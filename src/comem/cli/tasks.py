"""`comem tasks validate`: grade every task of a suite at its base and with its gold patch."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from comem.cli.common import console, progress_bar
from comem.core.errors import ComemError


def validate(
    source: Annotated[str, typer.Argument(help="Tasks to check: bundled, a task dir (or a folder of them), a "
                                                ".jsonl, or prefix:ARGS for registered loaders.")] = "bundled",
    timeout: Annotated[float, typer.Option(help="Seconds one grading run may take.", min=1)] = 300,
) -> None:
    """Check that each task is sound: its base repository fails and its gold patch resolves it, graded as an
    episode is. Exits 2 naming every task that is not."""
    from comem.tasks.sources import load_source
    from comem.tasks.task import Task
    from comem.tasks.validate import Validation, validate_suite

    tasks = load_source(source)
    others = sorted({type(t).__name__ for t in tasks if not isinstance(t, Task)})
    if others:
        raise ComemError(f"{source} holds {', '.join(others)} tasks, which this check does not grade.",
                         fix="validate local repository tasks (bundled, a task dir, a .jsonl of them).")
    with progress_bar(transient=True) as bar:
        job = bar.add_task("validating", total=len(tasks))

        def show(result: Validation) -> None:
            verdict = "[green]ok[/]" if result.problem is None else f"[red]{escape(result.problem)}[/]"
            bar.console.print(f"  {escape(result.instance_id):<40} {verdict} ({result.elapsed_s:.1f} s)")
            bar.advance(job)

        results = validate_suite(tasks, timeout_s=timeout, on_result=show)
    n = len(results)
    bad = [r for r in results if r.problem is not None]
    console.print(f"{source}: gold resolves {sum(r.gold_resolved for r in results)}/{n}, base resolves "
                  f"{sum(r.base_resolved for r in results)}/{n}; {n - len(bad)}/{n} tasks sound.")
    if bad:
        raise ComemError(f"{len(bad)} of {n} tasks are not sound: {', '.join(r.instance_id for r in bad)}.",
                         fix="fix or remove them (each line above says what is wrong).")
