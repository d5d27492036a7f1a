"""`comem run`: the evaluation engine (comem.eval) with one task source, seed 0 and one episode at a time.

The run directory's layout, the resume and the crash safety are the engine's; see comem/eval/engine.py.
"""

from __future__ import annotations

from pathlib import Path

from comem.run.config import RunConfig


def run(config: RunConfig) -> Path:
    """Every task under every arm, arms interleaved per task; prints progress and the report. Returns the run dir."""
    from comem.eval.commands import execute
    from comem.eval.suite import EvalConfig

    return execute(EvalConfig.from_run(config), "comem run")
