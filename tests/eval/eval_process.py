"""`comem eval` in a subprocess, and waiting on the result files it writes (reliability and Ray SIGTERM tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def start(config: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`comem eval` in a subprocess; its workspaces go under the test's tmp dir (a SIGKILL cannot clean them)."""
    tmp = config.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "comem.cli", "eval", str(config), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "COLUMNS": "100", "TMPDIR": str(tmp)})


def result_lines(out: Path, arms: list[str]) -> int:
    return sum(len((out / arm / "results.jsonl").read_bytes().splitlines())
               for arm in arms if (out / arm / "results.jsonl").exists())


def wait_for(proc: subprocess.Popen[bytes], out: Path, arms: list[str], lines: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while result_lines(out, arms) < lines:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
