"""Task fixtures shared by the task and CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from comem.tasks.task import bundled_tasks_dir


def broken_copy(tmp_path: Path, name: str = "semver-bump-minor") -> Path:
    """A copy of a bundled task whose gold patch fixes nothing (it only adds a comment)."""
    target = tmp_path / "suite" / name
    shutil.copytree(bundled_tasks_dir() / name, target)
    gold = target / "gold.patch"
    first_file = next(line[6:] for line in gold.read_text().splitlines() if line.startswith("+++ b/"))
    gold.write_text(f"--- /dev/null\n+++ b/NOTES.txt\n@@ -0,0 +1 @@\n+{first_file} is fine\n")
    return target
