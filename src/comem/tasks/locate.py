"""Where the names an issue mentions are defined, with their code, for the agent's first prompt.

Small models given only a file list guess at paths and edit code they never read (docs/results.md §8). This does
the search a careful engineer does first, deterministically and before the first model call: every name the issue
quotes in backticks (`pkg.func`, `Class.method`) is looked up as a `def` or `class` in the repository's non-test
Python files, and the definition is shown with line numbers, as `file_editor view` would show it. A name defined
in more than `MAX_DEFINITIONS` places is too ambiguous to help and is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from comem.environment.definitions import find_blocks

QUOTED_NAME = re.compile(r"(?<!`)`([A-Za-z_][\w.]*)(?:\(\))?`(?!`)")
MAX_DEFINITIONS = 2
MAX_BLOCK_LINES = 60
MAX_LINES = 150
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Definition:
    path: str
    first: int  # 1-based line numbers, inclusive
    last: int
    lines: tuple[str, ...] = field(default=(), compare=False, repr=False)  # its source lines, read once


def issue_names(problem_statement: str) -> list[str]:
    """The last component of each name quoted in backticks, in order of first mention, without repeats."""
    names = [match.split(".")[-1] for match in QUOTED_NAME.findall(problem_statement)]
    return list(dict.fromkeys(n for n in names if len(n) > 2))


def source_files(files: list[str]) -> list[str]:
    """Python files outside the tests (their code is what an issue is about)."""
    return [f for f in files if f.endswith(".py") and not any(p.startswith("test") for p in Path(f).parts)]


def find_definitions(root: Path, files: list[str], name: str) -> list[Definition]:
    found = []
    for path in source_files(files):
        file = root / path
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                continue
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        blocks = find_blocks(lines, name, max_lines=MAX_BLOCK_LINES)
        found.extend(Definition(path, first, last, tuple(lines[first - 1:last])) for first, last, _ in blocks)
    return found


@dataclass(frozen=True)
class Shown:
    """A definition as the prompt shows it."""

    definition: Definition
    numbered: str  # its lines, numbered as `file_editor view` numbers them

    def render(self) -> str:
        d = self.definition
        return f"{d.path}, lines {d.first}-{d.last}:\n{self.numbered}"


def locate(problem_statement: str, root: Path, files: list[str]) -> list[Shown]:
    """The definitions of the issue's names, in order of mention, at most MAX_LINES lines in all."""
    shown: list[Shown] = []
    lines_shown = 0
    for name in issue_names(problem_statement):
        definitions = find_definitions(root, files, name)
        if not definitions or len(definitions) > MAX_DEFINITIONS:
            continue
        for d in definitions:
            if any(s.definition == d for s in shown):
                continue
            if lines_shown + d.last - d.first + 1 > MAX_LINES:
                return shown
            shown.append(Shown(d, "\n".join(f"{n:6}\t{line}" for n, line in enumerate(d.lines, start=d.first))))
            lines_shown += d.last - d.first + 1
    return shown
