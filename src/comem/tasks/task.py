"""The task format and its loader.

A task is one SWE-bench-style instance: a repository at its buggy base state, an issue-like
problem statement, hidden tests (``test_patch``) and the test ids that decide whether it is
resolved. See ``README.md`` next to this file for the on-disk layouts that ``load_tasks`` reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml

from comem.core.errors import ComemError

TASK_FILE = "task.yaml"
REPO_DIR = "repo"
TEST_PATCH_FILE = "test_patch.diff"
GOLD_PATCH_FILE = "gold.patch"

_REQUIRED = ("instance_id", "problem_statement", "FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "repo_dir")


class Task(pydantic.BaseModel):
    """One task instance. `patch` (the gold fix) is never shown to the agent."""

    model_config = pydantic.ConfigDict(extra="ignore")

    instance_id: str
    problem_statement: str
    FAIL_TO_PASS: list[str]  # pytest node ids, e.g. "tests/test_dates.py::test_leap_year"
    PASS_TO_PASS: list[str]
    test_patch: str  # unified diff (a/ b/ prefixes) adding the hidden tests; applied only when grading
    patch: str = ""  # gold fix as a unified diff; used to validate the task, never shown to the agent
    repo_dir: Path  # the repository at its base (buggy) state
    difficulty: Literal["easy", "medium", "hard"] | None = None
    test_command: str = "python -m pytest"  # "python" is replaced by sys.executable when run

    @pydantic.field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _decode_json_list(cls, value: Any) -> Any:
        # SWE-bench parquet/JSON stores these as JSON-encoded strings.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a list and not a JSON-encoded list: {exc}") from exc
        return value

    @pydantic.field_validator("instance_id")
    @classmethod
    def _non_empty_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def bundled_tasks_dir() -> Path:
    """The directory holding the bundled task suite (one sub-directory per task)."""
    return Path(__file__).resolve().parent / "bundled"


def load_tasks(source: str | Path | None = None, ids: list[str] | None = None) -> list[Task]:
    """Load tasks.

    None -> the bundled suite. A directory of task dirs (each with task.yaml + repo/ +
    test_patch.diff [+ gold.patch]), or a single task dir, or a .jsonl file of SWE-bench-style
    rows (instance_id, problem_statement, FAIL_TO_PASS, PASS_TO_PASS, test_patch, patch, and
    `repo_dir` -- a path, relative paths resolved against the JSONL's folder).
    FAIL_TO_PASS/PASS_TO_PASS may be JSON-encoded strings (as in SWE-bench parquet) or lists.
    `ids` filters by instance_id; an unknown id is an error naming the available ids.
    Every bad input raises ComemError naming the file and what to fix.
    """
    path = bundled_tasks_dir() if source is None else Path(source).expanduser()
    if not path.exists():
        raise ComemError(
            f"Task source {path} does not exist.",
            fix="Pass a directory of task dirs, a single task dir (with task.yaml), or a .jsonl file.",
        )
    if path.is_file():
        if path.suffix != ".jsonl":
            raise ComemError(
                f"Task source {path} is a file but not a .jsonl file.",
                fix="Pass a .jsonl file of SWE-bench-style rows, or a directory of task dirs.",
            )
        tasks = _load_jsonl(path)
    elif (path / TASK_FILE).is_file():
        tasks = [_load_task_dir(path)]
    else:
        task_dirs = sorted(p for p in path.iterdir() if p.is_dir() and (p / TASK_FILE).is_file())
        if not task_dirs:
            raise ComemError(
                f"No tasks found in {path}: neither it nor any sub-directory has a {TASK_FILE}.",
                fix=f"Point at a directory whose sub-directories each hold {TASK_FILE}, {REPO_DIR}/ "
                f"and {TEST_PATCH_FILE}, or at a single such task dir, or at a .jsonl file.",
            )
        tasks = [_load_task_dir(d) for d in task_dirs]

    _check_unique(tasks, path)
    if ids is None:
        return tasks
    return _filter(tasks, ids, path)


# --------------------------------------------------------------------------- helpers


def _check_unique(tasks: list[Task], path: Path) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.instance_id in seen:
            raise ComemError(
                f"Duplicate instance_id {task.instance_id!r} in {path}.",
                fix="Give every task a unique instance_id.",
            )
        seen.add(task.instance_id)


def _filter(tasks: list[Task], ids: list[str], path: Path) -> list[Task]:
    if isinstance(ids, str):  # a lone string would otherwise be split into characters
        ids = [ids]
    by_id = {t.instance_id: t for t in tasks}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        available = ", ".join(sorted(by_id)) or "(none)"
        raise ComemError(
            f"Unknown task id(s) {', '.join(map(repr, unknown))} in {path}. Available ids: {available}.",
            fix="Use one of the available ids (check spelling).",
        )
    out: list[Task] = []
    for i in ids:
        if by_id[i] not in out:
            out.append(by_id[i])
    return out


def _build(data: dict[str, Any], where: str) -> Task:
    missing = [k for k in _REQUIRED if data.get(k) is None or (k == "repo_dir" and data[k] == "")]
    if missing:
        raise ComemError(
            f"{where}: missing required field(s): {', '.join(missing)}.",
            fix=f"Add {', '.join(missing)} to {where}.",
        )
    try:
        task = Task.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ComemError(
            f"{where}: invalid task: {problems}.",
            fix="FAIL_TO_PASS/PASS_TO_PASS must be lists of pytest node ids (or JSON-encoded lists), "
            "difficulty one of easy/medium/hard, the other fields strings.",
        ) from None
    if not task.repo_dir.is_dir():
        raise ComemError(
            f"{where}: repo_dir {task.repo_dir} does not exist or is not a directory.",
            fix="Point repo_dir at the repository checked out at its base commit.",
        )
    return task


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ComemError(f"Could not read {path}: {exc}.", fix="Make the file readable UTF-8 text.") from None


def _load_task_dir(task_dir: Path) -> Task:
    yaml_path = task_dir / TASK_FILE
    try:
        data = yaml.safe_load(_read_text(yaml_path))
    except yaml.YAMLError as exc:
        raise ComemError(
            f"{yaml_path} is not valid YAML: {exc}".rstrip() + ".",
            fix="Fix the YAML syntax (multi-line problem statements need a `|` block scalar).",
        ) from None
    if not isinstance(data, dict):
        raise ComemError(
            f"{yaml_path} must be a YAML mapping, got {type(data).__name__}.",
            fix="Write task.yaml as `key: value` lines (instance_id, problem_statement, FAIL_TO_PASS, ...).",
        )
    data = dict(data)
    data.setdefault("instance_id", task_dir.name)

    test_patch_path = task_dir / TEST_PATCH_FILE
    if "test_patch" not in data:
        if not test_patch_path.is_file():
            raise ComemError(
                f"Task dir {task_dir} has no {TEST_PATCH_FILE}.",
                fix=f"Add {TEST_PATCH_FILE}: a git-style unified diff (a/ b/ prefixes) adding the hidden tests.",
            )
        data["test_patch"] = _read_text(test_patch_path)
    gold_path = task_dir / GOLD_PATCH_FILE
    if "patch" not in data and gold_path.is_file():
        data["patch"] = _read_text(gold_path)

    repo = Path(data.get("repo_dir") or REPO_DIR)
    data["repo_dir"] = repo if repo.is_absolute() else (task_dir / repo).resolve()
    if not data["repo_dir"].is_dir():
        raise ComemError(
            f"Task dir {task_dir} has no repository at {data['repo_dir']}.",
            fix=f"Put the base (buggy) repository in {task_dir / REPO_DIR}/ or set repo_dir in {yaml_path}.",
        )
    return _build(data, str(yaml_path))


def _load_jsonl(path: Path) -> list[Task]:
    tasks: list[Task] = []
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ComemError(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).",
                fix="Write one JSON object per line (JSON Lines).",
            ) from None
        if not isinstance(row, dict):
            raise ComemError(
                f"{where}: each line must be a JSON object, got {type(row).__name__}.",
                fix="Write one JSON object per line with instance_id, problem_statement, ... fields.",
            )
        repo = row.get("repo_dir")
        if isinstance(repo, str) and repo:
            repo_path = Path(repo).expanduser()
            row["repo_dir"] = repo_path if repo_path.is_absolute() else (path.parent / repo_path).resolve()
        tasks.append(_build(row, where))
    if not tasks:
        raise ComemError(f"{path} contains no tasks.", fix="Add at least one JSON object line.")
    return tasks
