"""The `search` tool: literal text search, so models need not get grep's regex escaping right."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from comem.environment.output import cap_line
from comem.environment.tools import ToolArgumentError, ToolError, display_path, open_regular, resolve_in_root

MAX_MATCHES = 100
MAX_MATCH_CHARS = 300
MAX_FILE_BYTES = 5_000_000  # larger files are data, not code; skipping them keeps search fast
BINARY_SNIFF_BYTES = 8192
_QUALIFIED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\.([A-Za-z_]\w*)(?:\(\))?")  # a.b.name, a.name()


def _skipped_dir(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _files(path: Path) -> Iterator[Path]:
    """Files under `path` in a stable order, without hidden directories or __pycache__."""
    if not path.is_dir():
        yield path
        return
    for directory, dirs, files in os.walk(path):
        dirs[:] = sorted(name for name in dirs if not _skipped_dir(name))
        for name in sorted(files):
            file = Path(directory) / name
            if not file.is_symlink():  # a link could point outside the workspace
                yield file


def _text(path: Path, name: str) -> str | None:
    """The file's text, or None for binary or huge files; ToolError for what `open_regular` refuses."""
    fd = open_regular(path, name)
    try:
        if os.fstat(fd).st_size > MAX_FILE_BYTES:
            return None
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES)
    finally:
        os.close(fd)
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None
    return data.decode("utf-8", errors="replace")


def _matches(text: str, term: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for each line where `term` starts; a term may span lines."""
    lines = text.split("\n")
    index, line_no, scanned_to, last_line = text.find(term), 1, 0, 0
    while index != -1:
        line_no += text.count("\n", scanned_to, index)
        scanned_to = index
        if line_no != last_line:
            yield line_no, lines[line_no - 1]
            last_line = line_no
        index = text.find(term, index + 1)


def _find(root: Path, path: Path, term: str) -> tuple[list[str], bool]:
    """Match lines (`file:line: text`) for `term` under `path`, at most MAX_MATCHES; and whether there were more."""
    found: list[str] = []
    for file in _files(path):
        try:
            text = _text(file, display_path(root, file))
        except (ToolError, OSError):  # a FIFO, a hard link, an unreadable file: skipped, unless it was the one named
            if file == path:
                raise
            continue
        if text is None or term not in text:
            continue
        for line_no, line in _matches(text, term):
            if len(found) == MAX_MATCHES:
                return found, True
            found.append(f"{display_path(root, file)}:{line_no}: {cap_line(line.strip(), MAX_MATCH_CHARS)}")
    return found, False


def _report(term: str, where: str, found: list[str], more: bool) -> str:
    if more:
        return (f"More than {MAX_MATCHES} matches for {term!r} in {where}; showing the first {MAX_MATCHES}. Use a "
                "more specific term or path.\n" + "\n".join(found))
    noun = "match" if len(found) == 1 else "matches"
    return f"Found {len(found)} {noun} for {term!r} in {where}:\n" + "\n".join(found)


def search(root: Path, search_term: str, raw_path: str) -> str:
    if not search_term:
        raise ToolArgumentError("`search_term` must not be empty.")
    path = resolve_in_root(root, raw_path)
    if not path.exists():
        raise ToolError(f"The path {display_path(root, path)} does not exist.")
    where = display_path(root, path)
    found, more = _find(root, path, search_term)
    if found:
        return _report(search_term, where, found, more)
    missed = f"No matches found for {search_term!r} in {where}."
    name = _QUALIFIED.fullmatch(search_term.strip())
    if name is None:
        return missed
    # models search for `module.func` or `Class.method` as the issue writes it; code defines the last part
    last = name.group(1)
    found, more = _find(root, path, last)
    if not found:
        return missed
    return (f"{missed} Code rarely spells out a qualified name, so here is its last part instead.\n"
            + _report(last, where, found, more))
