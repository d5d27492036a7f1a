"""The task-source registry: a source string names where tasks come from.

`bundled` (the bundled suite), a task directory or a SWE-bench-style JSONL are read by
`comem.tasks.task.load_tasks`. A `prefix:rest` string goes to the loader registered for `prefix` with
`register_source(prefix, loader)`; `loader(rest)` returns the tasks (any objects with an `instance_id` that
`comem.tasks.harness.harness_for` knows). A prefix nobody registered yet is looked up once as the module
`comem.tasks.<prefix>`, which registers its loader when imported — so `browsecomp:PATH|mini` works as soon as
`comem/tasks/browsecomp.py` calls `register_source("browsecomp", ...)`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from comem.core.errors import ComemError

TaskLoader = Callable[[str], list[Any]]


BUNDLED = "bundled"


_SOURCES: dict[str, TaskLoader] = {}


_PREFIX = re.compile(r"^([a-z][a-z0-9_-]*):(.*)$", re.DOTALL)


def register_source(prefix: str, loader: TaskLoader) -> None:
    """Make `prefix:rest` task sources load with `loader(rest)`."""
    _SOURCES[prefix] = loader


def load_local(source: str) -> list[Any]:
    """`bundled`, a task directory (or a directory of them), or a SWE-bench-style JSONL."""
    from comem.tasks.task import load_tasks

    return load_tasks(None if source == BUNDLED else source)


def _loader(prefix: str) -> TaskLoader | None:
    if prefix not in _SOURCES:
        try:
            importlib.import_module(f"comem.tasks.{prefix.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"comem.tasks.{prefix.replace('-', '_')}":
                raise  # the module exists but one of its imports is missing: say so, do not hide it
    return _SOURCES.get(prefix)


def source_prefix(source: str) -> str | None:
    """The registry prefix of a `prefix:rest` source string; None for `bundled`, a path or a JSONL file."""
    match = _PREFIX.match(source)
    return match.group(1) if match and len(match.group(1)) > 1 else None  # one letter: a Windows drive


def load_source(source: str) -> list[Any]:
    """The tasks of one source string (see the module docstring)."""
    prefix = source_prefix(source)
    if prefix is not None:
        loader = _loader(prefix)
        if loader is None:
            known = ", ".join(sorted(_SOURCES)) or "none"
            raise ComemError(f"Unknown task source prefix {prefix!r} in {source!r} (registered: {known}).",
                             fix="use `bundled`, a task directory, a .jsonl file, or a registered prefix.")
        tasks = loader(source[len(prefix) + 1:])
    else:
        tasks = load_local(source)
    if not tasks:
        raise ComemError(f"Task source {source!r} holds no tasks.", fix="check the path and the selection.")
    return tasks
