"""Where a Python `def` or `class` starts and ends in a file's lines, found by its name.

Two callers: the task prompt shows the code of the names an issue mentions (`comem.tasks.locate`), and
`file_editor rewrite` replaces one definition whole, so a small model writes the corrected function as it would
in a chat reply instead of copying an exact `old_str`. A line-based reading (not `ast`) so that a file that does
not parse, after a bad edit, can still be read and fixed. Stdlib only: the container's tool runner imports it.
"""

from __future__ import annotations

import re

HEADER = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+")  # the start of any definition line
_NAMED = re.compile(HEADER.pattern + r"(\w+)")


def header_pattern(name: str) -> re.Pattern[str]:
    """A `def`/`async def`/`class` line for `name`; group 1 is its indentation."""
    return re.compile(HEADER.pattern + rf"{re.escape(name)}\b")


def block_end(lines: list[str], start: int, indent: int, *, max_lines: int | None = None) -> int:
    """The last line (1-based) of the block opened at index `start`: before the next non-blank line indented no
    deeper than its header (closing brackets excepted), and at most `max_lines` long."""
    stop = len(lines) if max_lines is None else min(len(lines), start + max_lines)
    last = start
    for index in range(start + 1, stop):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= indent and not line.lstrip().startswith((")", "]")):
            break
        if line.strip():
            last = index
    return last + 1


def find_blocks(lines: list[str], name: str, *, max_lines: int | None = None) -> list[tuple[int, int, int]]:
    """(first line, last line, indentation) of each definition of `name`, 1-based and inclusive."""
    pattern = header_pattern(name)
    found = []
    for index, line in enumerate(lines):
        match = pattern.match(line)
        if match:
            indent = len(match.group(1))
            found.append((index + 1, block_end(lines, index, indent, max_lines=max_lines), indent))
    return found


def defined_names(lines: list[str]) -> list[tuple[str, int]]:
    """(name, 1-based line) of every `def`/`class` header, in file order."""
    return [(match.group(2), index + 1) for index, line in enumerate(lines) if (match := _NAMED.match(line))]
