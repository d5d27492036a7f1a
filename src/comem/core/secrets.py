"""The API keys comem reads from its environment, taken out of that environment before any agent runs.

The agent's tools run as this user: any of them can read `/proc/<comem pid>/environ`, and test runs the grader
starts inherit `os.environ`. `hide_secrets()` (called by `comem run` and `comem eval` first) moves each key's value
here (`secret(name)` reads it), drops it from `os.environ`, and overwrites it in the memory the kernel shows as
`/proc/<pid>/environ` (the environment the process started with). What stays readable is in docs/architecture.md,
"Sandbox limits".
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

SECRET_NAMES = ("OPENAI_API_KEY", "SERPER_API_KEY")
_kept: dict[str, str] = {}


def secret(name: str) -> str | None:
    """The value of `name`: from the environment, else as `hide_secrets` kept it."""
    return os.environ.get(name) or _kept.get(name)


def hide_secrets(names: tuple[str, ...] = SECRET_NAMES) -> None:
    """Move the named variables out of this process's environment, where tools could read them."""
    found = {name: value for name in names if (value := os.environ.pop(name, None))}
    _kept.update(found)
    if found:
        _wipe_initial_environment(list(found))


def _wipe_initial_environment(names: list[str]) -> None:
    """Zero the values of `names` in the block between env_start and env_end (/proc/self/stat fields 50-51), which
    /proc/<pid>/environ shows however os.environ changed. Linux only; elsewhere there is no such file."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
    except (OSError, IndexError, ValueError):
        return
    offset, wanted = 0, {name.encode() for name in names}
    for entry in ctypes.string_at(start, end - start).split(b"\0"):
        key, equals, value = entry.partition(b"=")
        if equals and key in wanted and value:
            ctypes.memset(start + offset + len(key) + 1, 0, len(value))
        offset += len(entry) + 1
