"""A 20-episode `comem eval` in a subprocess, SIGKILLed at a seeded random point, SIGTERMed, then resumed:
no duplicates, nothing finished lost, everything finished in the end, unfinished trajectories rewritten."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import yaml

from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, EpisodeStart, Step
from comem.eval.results import EpisodeResult, read_results
from tests.eval.eval_process import result_lines, start, wait_for
from tests.eval.standin import StandInServer, model_config

TASKS = ["cronexpr-dom-dow", "daterange-len", "semver-bump-minor", "unitconv-fahrenheit", "money-minor-units"]
ARMS = ["full", "kso"]
SEEDS = [0, 1]
TOTAL = len(TASKS) * len(ARMS) * len(SEEDS)  # 20


def finished(out: Path) -> dict[tuple[str, str, int], bytes]:
    """(arm, task, seed) -> the exact result line, for every whole line on disk (the first of a key)."""
    found: dict[tuple[str, str, int], bytes] = {}
    for arm in ARMS:
        path = out / arm / "results.jsonl"
        for line in path.read_bytes().split(b"\n")[:-1] if path.exists() else []:
            try:
                result = EpisodeResult.model_validate_json(line)
            except ValueError:
                continue
            found.setdefault((arm, result.instance_id, result.seed), line)
    return found


def unfinished_trajectories(out: Path) -> list[Path]:
    paths = sorted(p for arm in ARMS for p in (out / arm / "trajectories").glob("*.jsonl"))
    return [p for p in paths if not any(isinstance(r, EpisodeEnd) for r in read_records(p))]


def test_sigkill_sigterm_and_resume_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    server = StandInServer(delay_s=0.04)
    config, out = tmp_path / "eval.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump({
        "tasks": ["bundled"], "task_ids": TASKS, "seeds": SEEDS, "concurrency": 4, "grade": False,
        "arms": ["full", {"name": "kso", "k": 1, "memory_max_tokens": 32}], "loop": {"max_steps": 5},
        "episode_timeout_s": 60, **model_config(server)}))
    try:
        # 1. SIGKILL once a seeded random number of episodes has finished, with others in flight.
        proc = start(config, out)
        wait_for(proc, out, ARMS, random.Random(20).randint(3, 12))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before_kill = finished(out)
        unfinished = unfinished_trajectories(out)
        assert 3 <= len(before_kill) < TOTAL and unfinished, "the kill should land mid-run"

        # 2. Resume, then SIGTERM: a clean stop that keeps every finished result.
        proc = start(config, out)
        wait_for(proc, out, ARMS, len(before_kill) + 2)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 130 and "interrupted" in output, output
        before_term = finished(out)
        assert all(before_term[key] == line for key, line in before_kill.items())

        # 3. Resume to the end.
        proc = start(config, out)
        output = proc.communicate(timeout=120)[0].decode()
        assert proc.returncode == 0, output
    finally:
        server.close()

    final = finished(out)
    assert len(final) == TOTAL == result_lines(out, ARMS)  # every episode once, no duplicate lines, no torn lines
    assert set(final) == {(a, t, s) for a in ARMS for t in TASKS for s in SEEDS}
    assert all(final[key] == line for key, line in before_term.items())  # finished results untouched
    for arm in ARMS:
        assert len(read_results(out / arm / "results.jsonl")) == TOTAL // 2
    for path in unfinished:  # rewritten from scratch: one start, contiguous steps, one end
        records = read_records(path)
        assert isinstance(records[0], EpisodeStart) and isinstance(records[-1], EpisodeEnd)
        assert sum(isinstance(r, EpisodeStart) for r in records) == 1
        steps = [r.index for r in records if isinstance(r, Step)]
        assert steps == list(range(len(steps))) and records[-1].steps == len(steps)
    assert unfinished_trajectories(out) == []
    assert (out / "summary.md").exists() and (out / "summary.json").exists()
