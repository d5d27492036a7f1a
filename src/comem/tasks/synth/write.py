"""Writing one synthesised task in the on-disk layout that `load_tasks` reads (see tasks/README.md).

Hidden tests: every test file holding a FAIL_TO_PASS test is removed from `repo/` and re-added by
`test_patch.diff`, so the agent can neither read the expected values nor run the failing tests; the
rest of the suite stays visible. `gold.patch` reverts the mutation.
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from comem.tasks.task import GOLD_PATCH_FILE, REPO_DIR, TASK_FILE, TEST_PATCH_FILE

_IGNORED = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".venv", ".coverage",
            "node_modules"}


@dataclass
class TaskFiles:
    """Everything a synthesised task dir holds."""

    instance_id: str
    problem_statement: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    test_command: str
    mutated_path: str  # relative to the repo root
    original: str  # the file's text before the mutation (the gold state)
    mutated: str  # and after it (the buggy state)
    hidden_tests: list[str]  # test files removed from repo/ and re-added by the test patch
    provenance: dict[str, Any] = field(default_factory=dict)


def write_task(out_dir: Path, source_root: Path, task: TaskFiles) -> Path:
    """Create out_dir/<instance_id>/ (replacing an older one of that name) and return it."""
    task_dir = out_dir / task.instance_id
    if task_dir.exists():
        shutil.rmtree(task_dir)
    repo = task_dir / REPO_DIR
    shutil.copytree(source_root, repo, ignore=ignore_junk)
    (repo / task.mutated_path).write_text(task.mutated, encoding="utf-8", newline="")
    test_patch = []
    for rel in task.hidden_tests:
        test_patch.append(new_file_diff(rel, (repo / rel).read_text(encoding="utf-8")))
        (repo / rel).unlink()
    (task_dir / TEST_PATCH_FILE).write_text("".join(test_patch), encoding="utf-8", newline="")
    gold = modify_diff(task.mutated_path, task.mutated, task.original)
    (task_dir / GOLD_PATCH_FILE).write_text(gold, encoding="utf-8", newline="")
    meta = {
        "instance_id": task.instance_id,
        "problem_statement": task.problem_statement,
        "FAIL_TO_PASS": task.fail_to_pass,
        "PASS_TO_PASS": task.pass_to_pass,
        "test_command": task.test_command,
        "synth": task.provenance,
    }
    (task_dir / TASK_FILE).write_text(yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                                                width=1000), encoding="utf-8")
    return task_dir


def ignore_junk(_folder: str, names: list[str]) -> set[str]:
    """For shutil.copytree: VCS data, virtual environments and caches never belong in a task repo."""
    return {n for n in names if n in _IGNORED or n.endswith(".pyc")}


def new_file_diff(path: str, text: str) -> str:
    """A git-style diff creating `path` with `text`."""
    body = _hunks([], _lines(text), "/dev/null", f"b/{path}")
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n{body}"


def modify_diff(path: str, old: str, new: str) -> str:
    """A git-style diff turning `old` into `new` at `path`."""
    body = _hunks(_lines(old), _lines(new), f"a/{path}", f"b/{path}")
    return f"diff --git a/{path} b/{path}\n{body}"


def _lines(text: str) -> list[str]:
    """Lines as git sees them: split at \\n only (str.splitlines also splits at \\f, \\x1c, ...)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _hunks(a: list[str], b: list[str], from_file: str, to_file: str) -> str:
    out = []
    for line in difflib.unified_diff(a, b, from_file, to_file):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the problem statement) as readable `|` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
