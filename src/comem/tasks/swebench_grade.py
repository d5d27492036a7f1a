"""Grading SWE-bench patches with the official harness, run as a subprocess, its reports read back as Verdicts.

The instances' rows and the predictions ({instance_id, model_name_or_path, model_patch}) are written as JSONL;
`python -m swebench.harness.run_evaluation` applies each patch in a fresh container of the instance image and
runs the tests; its run summary (`<model>.<run_id>.json`) and per-instance `report.json` files give the
verdicts. Call `grade_patches` once after all episodes (one harness run, `max_workers` containers at a time);
the SWE-bench harness's `grade()` calls it per episode. The harness runs with `GradingSettings.python`, so
swebench (heavy: modal, GitPython, ...) may live in its own virtual environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field

from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.tasks.harness import Verdict
from comem.tasks.swebench_task import SWEBenchTask

INSTALL_FIX = "pip install swebench (or set GradingSettings.python to an interpreter that has it)."
# What swebench >= 5 reads from each row instead of deriving it from the repository and version.
V5_COLUMNS = ("image", "eval_script", "log_parser", "eval_type")
_APPLY_FAILED = ">>>>> Patch Apply Failed"
_TIMED_OUT = "Test timed out"
_LOG_TAIL = 2000


class GradingSettings(StrictModel):
    model_config = ConfigDict(frozen=True)

    python: str = sys.executable  # an interpreter with swebench installed
    max_workers: int = Field(default=4, ge=1)  # evaluation containers at a time
    timeout_s: int = Field(default=1800, gt=0)  # per instance's test run
    model_name: str = "comem"  # model_name_or_path in the predictions; names the harness's log folder
    work_dir: Path | None = None  # the harness's cwd (logs/run_evaluation/...); None: comem's user cache dir


class Prediction(BaseModel):
    instance_id: str
    model_name_or_path: str
    model_patch: str


def write_jsonl(path: Path, rows: Iterable[BaseModel | dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(row.model_dump(mode="json") if isinstance(row, BaseModel) else row) for row in rows)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def harness_version(python: str) -> str:
    """The swebench version `python` imports, or one ComemError naming the install command."""
    probe = ("import importlib.metadata, importlib.util, sys\n"
             "sys.exit(3) if importlib.util.find_spec('swebench') is None else "
             "print(importlib.metadata.version('swebench'))")
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ComemError(f"Could not run {python} to find the SWE-bench harness: {error}",
                         fix="set GradingSettings.python to a working Python interpreter.") from None
    if done.returncode != 0:
        raise ComemError(f"Grading SWE-bench needs the official harness (the `swebench` package), which {python} "
                         "does not have.", fix=INSTALL_FIX)
    return done.stdout.strip()


def check_rows(tasks: list[SWEBenchTask], version: str) -> None:
    """swebench >= 5 grades from columns in the row; older rows lack them and would fail inside the harness."""
    major = re.match(r"\d+", version)
    if not major or int(major.group()) < 5:
        return
    for task in tasks:
        missing = [column for column in V5_COLUMNS if not task.row().get(column)]
        if missing:
            raise ComemError(f"swebench {version} grades from each instance's {', '.join(V5_COLUMNS)}; "
                             f"{task.instance_id} has no {', '.join(missing)}.",
                             fix="load the instances from a current SWE-bench dataset file (it has these columns), "
                                 "or install swebench<5, which derives them.")


def evaluation_command(settings: GradingSettings, dataset: Path, predictions: Path, run_id: str,
                       report_dir: Path) -> list[str]:
    return [settings.python, "-m", "swebench.harness.run_evaluation", "--dataset_name", str(dataset),
            "--predictions_path", str(predictions), "--run_id", run_id, "--max_workers", str(settings.max_workers),
            "--timeout", str(settings.timeout_s), "--report_dir", str(report_dir)]


def grade_patches(tasks: list[SWEBenchTask], patches: dict[str, str], settings: GradingSettings | None = None,
                  run_id: str | None = None) -> dict[str, Verdict]:
    """One official harness run over `tasks` with the agent's `patches` (instance_id -> diff; missing: empty).

    Never raises for what the harness reports (failed tests, a patch that does not apply, a harness crash);
    raises ComemError when grading cannot start (no swebench, no Docker engine, rows the harness cannot read).
    """
    from comem.environment.docker_env import connect

    settings = settings or GradingSettings()
    check_rows(tasks, harness_version(settings.python))
    connect().close()  # a clear error now rather than a stack trace from inside the harness
    work_dir = settings.work_dir or Path(platformdirs.user_cache_dir("comem")) / "swebench"
    run_id = run_id or f"comem-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    run_dir = work_dir / "runs" / run_id
    dataset = write_jsonl(run_dir / "instances.jsonl", (task.row() for task in tasks))
    predictions = write_jsonl(run_dir / "predictions.jsonl", (
        Prediction(instance_id=task.instance_id, model_name_or_path=settings.model_name,
                   model_patch=patches.get(task.instance_id, "")) for task in tasks))
    log = run_dir / "harness.log"
    with log.open("wb") as out:
        done = subprocess.run(evaluation_command(settings, dataset, predictions, run_id, run_dir), cwd=work_dir,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False)
    verdicts = read_verdicts(work_dir, run_dir, run_id, settings.model_name, [task.instance_id for task in tasks])
    if done.returncode != 0:
        failure = f"the SWE-bench harness failed (exit {done.returncode}); see {log}: {_tail(log)}"
        verdicts = {iid: v if v.resolved is not None else Verdict(resolved=None, error=failure)
                    for iid, v in verdicts.items()}
    return verdicts


def read_verdicts(work_dir: Path, report_dir: Path, run_id: str, model_name: str,
                  instance_ids: list[str]) -> dict[str, Verdict]:
    """Verdicts from the harness's run summary and per-instance reports, as `run_evaluation` writes them."""
    model_dir = model_name.replace("/", "__")
    summary_path = report_dir / f"{model_dir}.{run_id}.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else None
    instance_root = work_dir / "logs" / "run_evaluation" / run_id / model_dir
    return {iid: _verdict(iid, summary, instance_root / iid, summary_path) for iid in instance_ids}


def _verdict(instance_id: str, summary: dict[str, Any] | None, log_dir: Path, summary_path: Path) -> Verdict:
    if summary is None:
        return Verdict(resolved=None, error=f"the SWE-bench harness wrote no run report ({summary_path})")
    ids = {key: set(summary.get(key, [])) for key in ("resolved_ids", "unresolved_ids", "empty_patch_ids",
                                                      "error_ids")}
    detail: dict[str, Any] = {"log_dir": str(log_dir)}
    if instance_id in ids["empty_patch_ids"]:
        return Verdict(resolved=False, detail={**detail, "empty_patch": True})
    if instance_id in ids["error_ids"]:
        return Verdict(resolved=False, error=_error_reason(log_dir), detail=detail)
    if instance_id in ids["resolved_ids"] | ids["unresolved_ids"]:
        report = _instance_report(log_dir, instance_id)
        status = report.get("tests_status", {})
        for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            outcome = status.get(key, {})
            detail[key.lower()] = {**dict.fromkeys(outcome.get("success", []), True),
                                   **dict.fromkeys(outcome.get("failure", []), False)}
        detail["patch_applied"] = report.get("patch_successfully_applied")
        reason = summary.get("failure_reasons", {}).get(instance_id)
        if reason:
            detail["failure_reason"] = reason
        return Verdict(resolved=instance_id in ids["resolved_ids"], detail=detail)
    return Verdict(resolved=None, error="the SWE-bench harness did not evaluate this instance", detail=detail)


def _instance_report(log_dir: Path, instance_id: str) -> dict[str, Any]:
    """The instance's entry in its report.json; {} if the file is gone (the summary already decided)."""
    try:
        return json.loads((log_dir / "report.json").read_text(encoding="utf-8")).get(instance_id, {})
    except (OSError, ValueError, AttributeError):
        return {}


def _error_reason(log_dir: Path) -> str:
    log = log_dir / "run_instance.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    if _APPLY_FAILED in text:
        return f"the patch does not apply (see {log})"
    if _TIMED_OUT in text:
        return f"the tests timed out (see {log})"
    return f"the SWE-bench harness could not evaluate the patch (see {log})"


def _tail(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return " ".join(text[-_LOG_TAIL:].split())[-500:]
