"""The results files of an evaluation: `<out>/<arm>/results.jsonl`, one line per finished (task, seed).

They are `comem.core.jsonlog` logs: a line counts once its newline is on disk, and a crash can lose no finished
line. Readers keep one line per (task, seed), so nothing is counted twice: the first finished one, else the last
(an episode that raised is recorded, then retried by a rerun); they skip lines that are not results.
"""

from __future__ import annotations

import time
from pathlib import Path

from comem.core.jsonlog import JsonlLog, append_jsonl, read_jsonl
from comem.core.records import EpisodeEnd

RESULTS_FILE = "results.jsonl"
TRAJECTORIES_DIR = "trajectories"
INCIDENTS_FILE = "incidents.log"  # what went wrong with the infrastructure during the run (a model server died)


class EpisodeResult(EpisodeEnd):
    """An episode's end record plus the seed it ran with (files without one, from older runs, mean seed 0)."""

    seed: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return self.instance_id, self.seed


def trajectory_path(arm_dir: Path, task_id: str, seed: int) -> Path:
    """`<task>.jsonl` for seed 0 (the `comem run` layout), `<task>.seed<N>.jsonl` for other seeds."""
    name = task_id if seed == 0 else f"{task_id}.seed{seed}"
    return arm_dir / TRAJECTORIES_DIR / f"{name}.jsonl"


def read_results(path: Path) -> list[EpisodeResult]:
    """The results in file order, one per (task, seed) — the first finished one, else the last — skipping torn and
    malformed lines."""
    seen: dict[tuple[str, int], EpisodeResult] = {}
    for result in read_jsonl(path, EpisodeResult, on_bad="skip"):
        if result.key not in seen or not seen[result.key].finished:
            seen[result.key] = result
    return list(seen.values())


def record_incident(out: Path, line: str) -> None:
    """Append one line to the run's incidents, which the report and the CLI show loudly."""
    with (out / INCIDENTS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def read_incidents(out: Path) -> list[str]:
    path = out / INCIDENTS_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


class ResultsFile:
    """Appends the results of one arm."""

    def __init__(self, path: Path) -> None:
        self.path = path
        JsonlLog(path).close()  # creates the directory and cuts a torn tail before anything is appended

    def append(self, result: EpisodeResult) -> None:
        append_jsonl(self.path, [result])
