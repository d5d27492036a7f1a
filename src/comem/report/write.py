"""`comem report RUN_DIR`, also run at the end of `comem run` and `comem eval`: summary.json, summary.md, PNGs."""

from __future__ import annotations

import json
from pathlib import Path

from comem.core.errors import ComemError
from comem.eval.results import read_incidents
from comem.report import plots
from comem.report.summary import ArmReport, summarise
from comem.report.tables import to_markdown


def write_report(run_dir: Path, seed: int = 0) -> tuple[list[ArmReport], str | None]:
    """Compute the report of `run_dir` and write it there; returns the rows and a note (figures skipped)."""
    rows = summarise(run_dir, seed)
    if not rows:
        raise ComemError(f"{run_dir} holds no finished episodes.",
                         fix="pass a directory written by `comem run` or `comem eval`.")
    figures, note = (plots.write_plots(rows, run_dir), None) if plots.available() else ([], plots.MISSING)
    (run_dir / "summary.json").write_text(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
    incidents = read_incidents(run_dir)
    loud = ("\n## Incidents\n\nA model server died during the run; its requests then in flight were retried once on "
            "the restarted server.\n\n" + "".join(f"- **{line}**\n" for line in incidents)) if incidents else ""
    (run_dir / "summary.md").write_text(to_markdown(rows, figures, note) + loud)
    return rows, note
