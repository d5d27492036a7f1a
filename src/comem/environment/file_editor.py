"""The `file_editor` tool: view / create / str_replace / insert / undo_edit, as in SWE-agent's editor.

Files are read and written as bytes decoded with `surrogateescape`, so line endings and stray
non-UTF-8 bytes survive an edit unchanged; only what is shown to the model is made valid UTF-8.
Every file is opened through `open_regular` (no FIFOs, devices or hard links), `view` reads only the lines it
shows, and edits hold at most MAX_EDIT_BYTES: no file the agent makes can stall or exhaust the process.
"""

from __future__ import annotations

import ast
import difflib
import os
import textwrap
from pathlib import Path
from typing import Any

from comem.environment.definitions import HEADER, defined_names, find_blocks, header_pattern
from comem.environment.output import MAX_LINE_CHARS, cap_line, split_lines
from comem.environment.tools import (
    FILE_EDITOR_COMMANDS,
    ToolArgumentError,
    ToolError,
    display_path,
    int_arg,
    open_regular,
    range_arg,
    resolve_in_root,
    text_arg,
)

MAX_RESPONSE_CHARS = 8_000  # about 2,000 tokens: a small model's window holds many observations
VIEW_MAX_LINES = 150  # a `view` without view_range shows this many lines, then says how to see the rest
VIEW_MIN_LINES = 10  # a narrower view_range is widened: small models ask for the one line a search hit named
MAX_EDIT_BYTES = 10_000_000  # str_replace / insert / undo_edit hold the whole file; bash edits bigger ones
MAX_VIEW_SCAN_BYTES = 64_000_000  # `view` reads up to here looking for the first line asked for
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS  # of a line, what `view` reads (the rest is skipped and counted)
SCAN_CHUNK_BYTES = 1 << 20
SNIPPET_LINES = 4
MAX_CLOSEST_LINES = 5000  # a failed str_replace looks for the closest line in files up to this long
MIN_GUARDED_LINES = 4  # a rewrite of a function this long must keep half its code (small models wrote one-liners)
BINARY_SNIFF_BYTES = 8192
CLIPPED_NOTE = (
    "<response clipped><NOTE>Only part of this output is shown to save context. Use `view_range` "
    "to view a part of the file, or the `search` tool to find line numbers first.</NOTE>"
)


def _read(path: Path, name: str) -> str:
    """The whole file, for an edit."""
    fd = open_regular(path, name)
    try:
        _check_text(fd, name)
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_EDIT_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_EDIT_BYTES:
        raise ToolError(f"{name} is over {MAX_EDIT_BYTES // 1_000_000} MB, more than file_editor edits; change it "
                        "with bash (sed, python).")
    return data.decode("utf-8", errors="surrogateescape")


def _check_text(fd: int, name: str) -> None:
    if b"\0" in os.pread(fd, BINARY_SNIFF_BYTES, 0):
        raise ToolError(f"{name} looks like a binary file; file_editor only handles text.")


def _write(path: Path, name: str, text: str) -> None:
    """Replace the file's contents; an existing path must pass `open_regular` before anything is truncated."""
    if os.path.lexists(path):
        fd = open_regular(path, name, write=True)
        os.ftruncate(fd, 0)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    with open(fd, "wb") as handle:
        handle.write(text.encode("utf-8", errors="surrogateescape"))


def _skip_lines(fd: int, name: str, count: int) -> tuple[int, int]:
    """(lines skipped, byte offset after them): up to `count` lines, found by counting newlines a chunk at a time."""
    skipped = offset = 0
    while skipped < count:
        chunk = os.pread(fd, SCAN_CHUNK_BYTES, offset)
        if not chunk:  # the end: a last line without a newline counts too
            return skipped + (offset > 0 and os.pread(fd, 1, offset - 1) != b"\n"), offset
        newlines = chunk.count(b"\n")
        if skipped + newlines >= count:
            end = -1
            for _ in range(count - skipped):
                end = chunk.index(b"\n", end + 1)
            return count, offset + end + 1
        skipped, offset = skipped + newlines, offset + len(chunk)
        if offset > MAX_VIEW_SCAN_BYTES:
            raise ToolError(f"{name} is over {MAX_VIEW_SCAN_BYTES // 1_000_000} MB and view reads only that much "
                            f"(lines 1-{skipped}); use bash, e.g. `sed -n '{count + 1},{count + 50}p' {name}`.")
    return skipped, offset


def _view_lines(fd: int, name: str, start: int, end: int) -> tuple[list[str], int, bool]:
    """`cat -n` lines start..end (end -1: to the end) read lazily: reading stops once more than a response shows is
    collected, and a line's bytes past MAX_LINE_BYTES are skipped. Returns the lines, the number of the last line
    read, and whether the file ended."""
    shown: list[str] = []
    chars = 0
    number, offset = _skip_lines(fd, name, start - 1)
    os.lseek(fd, offset, os.SEEK_SET)
    with open(fd, "rb", closefd=False) as handle:
        while head := handle.readline(MAX_LINE_BYTES):
            number, rest, tail = number + 1, 0, head
            while not tail.endswith(b"\n") and (tail := handle.readline(MAX_LINE_BYTES)):
                rest += len(tail)
            text = head.decode("utf-8", errors="replace").removesuffix("\n")
            line = cap_line(text) if not rest else f"{text[:MAX_LINE_CHARS]}... <line truncated: {rest} more bytes>"
            shown.append(f"{number:6}\t{line}")
            chars += len(shown[-1]) + 1
            if number == end or chars > MAX_RESPONSE_CHARS:
                return shown, number, False
    return shown, number, True


def _shown(text: str) -> str:
    """Text safe to show: undecodable bytes kept by surrogateescape become U+FFFD."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RESPONSE_CHARS else text[:MAX_RESPONSE_CHARS] + "\n" + CLIPPED_NOTE


def _numbered(text: str, first_line: int = 1) -> str:
    """`cat -n` layout: right-aligned line number, a tab, the line."""
    return "\n".join(
        f"{number:6}\t{cap_line(line)}" for number, line in enumerate(split_lines(_shown(text)), start=first_line)
    )


def _snippet(text: str, first_changed: int, changed_lines: int) -> str:
    """Numbered lines around an edit, so the model can check it without another view."""
    lines = split_lines(text)
    start = max(1, first_changed - SNIPPET_LINES)
    end = min(len(lines), first_changed + changed_lines - 1 + SNIPPET_LINES)
    return _numbered("\n".join(lines[start - 1 : end]), start)


def _closest(text: str, old_str: str) -> str:
    """The file's lines most like old_str's first line, numbered, so a model can copy the real text (small models
    write old_str from memory, or from another file); "" when nothing is alike."""
    wanted = next((line.strip() for line in old_str.split("\n") if line.strip()), "")
    lines = split_lines(text)
    if not wanted or len(lines) > MAX_CLOSEST_LINES:
        return ""
    scores = [difflib.SequenceMatcher(None, wanted, line.strip()).ratio() for line in lines]
    best = max(range(len(lines)), key=scores.__getitem__, default=None)
    if best is None or scores[best] < 0.5:
        return ""
    start = max(0, best - 1)
    return (f" The closest line is {best + 1}:\n" + _numbered("\n".join(lines[start : best + 2]), start + 1))


def _changed_lines(before: str, after: str) -> tuple[int, int]:
    """(first line that differs, how many lines of `after` differ from there up to the common tail), 1-based."""
    old, new = split_lines(before), split_lines(after)
    head = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head + 1, max(1, len(new) - head - tail)


def _code_lines(lines: list[str]) -> int:
    """Non-blank lines of a definition outside its docstring (a model may drop the docstring, not the code)."""
    count = sum(1 for line in lines if line.strip())
    try:
        tree = ast.parse(textwrap.dedent("\n".join(lines)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return count
    function = tree.body[0] if tree.body else None
    body = getattr(function, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        docstring = body[0]
        count -= sum(1 for line in lines[docstring.lineno - 1:docstring.end_lineno] if line.strip())
    return count


def _under_old_signature(old: list[str], indent: int, body: list[str], name: str) -> list[str]:
    """new_str as the function's new body under its old signature (the 1.5B sent `return len(self._dates) - 1`
    for `__len__`), at the old body's depth; refused when new_str opens another definition or the old function
    has no body of its own lines."""
    error = ToolArgumentError(f"new_str must be the complete new definition of `{name}`, starting with its "
                              f"`def {name}(` line, with the whole body.")
    if any(HEADER.match(line) for line in body):
        raise error
    try:
        function = ast.parse(textwrap.dedent("\n".join(old))).body[0]
    except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
        raise error from None
    signature = function.body[0].lineno - 1 if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) else 0
    if signature < 1:
        raise error
    first_body = old[signature]
    depth = len(first_body) - len(first_body.lstrip()) - indent
    return [line[indent:] for line in old[:signature]] + [" " * depth + line if line.strip() else "" for line in body]


def _check_syntax(text: str, name: str, first: int) -> None:
    """Refuse a rewrite that leaves a Python file that does not compile (SWE-agent's finding: a linter in front of
    edits keeps small models from breaking the file they are fixing); the file is left as it was."""
    if not name.endswith(".py"):
        return
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise ToolError(f"No replacement was performed: the new code is not valid Python ({exc.msg}{where}; the "
                        f"definition starts at line {first}). Fix new_str and try again.") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise ToolError(f"No replacement was performed: the new code cannot be compiled ({exc}).") from None


class FileEditor:
    """Stateful for undo (each path keeps a stack of its contents before each edit) and for read-before-rewrite:
    `rewrite` of a file the model has not seen shows the definition instead of replacing it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._history: dict[Path, list[str | None]] = {}  # None: the file did not exist
        self._seen: set[Path] = set()  # files viewed, created or edited here

    def run(self, args: dict[str, Any]) -> str:
        command = (text_arg(args, "command", required=True) or "").strip().lower()
        if command not in FILE_EDITOR_COMMANDS:
            raise ToolArgumentError(f"Unknown command `{command}`. Valid commands: {', '.join(FILE_EDITOR_COMMANDS)}.")
        path = resolve_in_root(self.root, text_arg(args, "path", required=True) or "")
        if command == "view":
            return self._view(path, range_arg(args, "view_range"))
        if command == "create":
            return self._create(path, text_arg(args, "file_text", required=True) or "")
        if command == "undo_edit":
            return self._undo(path)
        text = self._read_file(path)
        new_str = text_arg(args, "new_str", required=command == "insert", default="") or ""
        if command == "str_replace":
            return self._str_replace(path, text, text_arg(args, "old_str", required=True) or "", new_str)
        if command == "rewrite":
            return self._rewrite(path, text, (text_arg(args, "definition", required=True) or "").strip(), new_str)
        insert_line = int_arg(args, "insert_line")
        if insert_line is None:
            raise ToolArgumentError("Missing required argument `insert_line`.")
        return self._insert(path, text, insert_line, new_str)

    def _name(self, path: Path) -> str:
        return display_path(self.root, path)

    def _check_file(self, path: Path) -> None:
        if not path.exists():
            raise ToolError(f"The path {self._name(path)} does not exist.")
        if path.is_dir():
            raise ToolError(f"The path {self._name(path)} is a directory; this command needs a file.")

    def _read_file(self, path: Path) -> str:
        self._check_file(path)
        return _read(path, self._name(path))

    def _save(self, path: Path, old: str | None, new: str) -> None:
        _write(path, self._name(path), new)
        self._history.setdefault(path, []).append(old)
        self._seen.add(path)

    def _view(self, path: Path, view_range: tuple[int, int] | None) -> str:
        if path.is_dir():
            if view_range is not None:
                raise ToolArgumentError("`view_range` only applies to files, not directories.")
            return self._list_dir(path)
        self._check_file(path)
        name = self._name(path)
        fd = open_regular(path, name)
        try:
            _check_text(fd, name)
            self._seen.add(path)
            if view_range is None:
                lines, last, ended = _view_lines(fd, name, 1, VIEW_MAX_LINES)
                if not ended:
                    return _clip(f"Here's the result of running `cat -n` on {name} (lines 1-{last}; the file goes on: "
                                 f"see more with view_range [{last + 1}, {last + VIEW_MAX_LINES}], or `search` for a "
                                 "name):\n" + "\n".join(lines))
                return _clip(f"Here's the result of running `cat -n` on {name}:\n" + "\n".join(lines))
            start, end = view_range
            if end != -1 and end < start:
                raise ToolArgumentError(
                    f"Invalid view_range {list(view_range)}: end must be >= start, or -1 for the end of the file."
                )
            first = start
            widened = start >= 1 and end != -1 and end - start + 1 < VIEW_MIN_LINES
            if widened:  # what is around it, from just before
                first, end = max(1, start - 2), max(1, start - 2) + VIEW_MIN_LINES - 1
            lines, last, ended = _view_lines(fd, name, max(first, 1), end)
            if start < 1 or (ended and start > max(1, last)):
                count = last if ended else _view_lines(fd, name, MAX_VIEW_SCAN_BYTES, -1)[1]
                raise ToolArgumentError(
                    f"Invalid view_range {list(view_range)}: start must be between 1 and {count}, "
                    f"the file's line count."
                )
        finally:
            os.close(fd)
        last = max(last, first) if ended else last
        asked = f"; widened from {start}-{view_range[1]}, a view shows at least {VIEW_MIN_LINES}" if widened else ""
        return _clip(f"Here's the result of running `cat -n` on {name} (lines {first}-{last}{asked}):\n"
                     + "\n".join(lines))

    def _list_dir(self, path: Path) -> str:
        entries = [self._name(path)]
        for entry in self._visible(path):
            entries.append(self._name(entry) + ("/" if entry.is_dir() else ""))
            if entry.is_dir() and not entry.is_symlink():
                entries.extend(self._name(child) + ("/" if child.is_dir() else "") for child in self._visible(entry))
        header = (
            f"Here are the files and directories up to 2 levels deep in {self._name(path)}, "
            "excluding hidden items and __pycache__:"
        )
        return _clip(header + "\n" + "\n".join(entries))

    @staticmethod
    def _visible(directory: Path) -> list[Path]:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        return [directory / name for name in names if not name.startswith(".") and name != "__pycache__"]

    def _create(self, path: Path, file_text: str) -> str:
        if path.exists():
            raise ToolError(
                f"File already exists at {self._name(path)}; `create` never overwrites. "
                "Use `str_replace` to change it, or remove it with bash first."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._save(path, None, file_text)
        return f"File created successfully at: {self._name(path)}"

    def _str_replace(self, path: Path, text: str, old_str: str, new_str: str) -> str:
        if not old_str:
            raise ToolArgumentError("`old_str` must not be empty; to add text use `insert`.")
        if old_str == new_str:
            raise ToolError("No replacement was performed: new_str is the same as old_str, so nothing would change. "
                            "Write the corrected code in new_str.")
        count = text.count(old_str)
        if count == 0:
            raise ToolError(
                f"No replacement was performed: old_str did not appear verbatim in {self._name(path)}. "
                "Check whitespace and indentation, or view the file first." + _closest(text, old_str)
            )
        if count > 1:
            starts, index = [], text.find(old_str)
            while index != -1:
                starts.append(text.count("\n", 0, index) + 1)
                index = text.find(old_str, index + 1)
            raise ToolError(
                f"No replacement was performed: old_str occurs {count} times in {self._name(path)}, "
                f"starting at lines {starts}. Include more surrounding lines to make it unique."
            )
        first_changed = text.count("\n", 0, text.find(old_str)) + 1
        new_text = text.replace(old_str, new_str, 1)
        self._save(path, text, new_text)
        return self._edited(path, new_text, first_changed, new_str.count("\n") + 1)

    def _rewrite(self, path: Path, text: str, name: str, new_str: str) -> str:
        """Replace the definition of `name` (header to last line of its body) with `new_str`, re-indented to the
        old header's depth: a model writes a method at the left margin as often as in place."""
        name = HEADER.sub("", name).split("(")[0].split(".")[-1].strip(" :")
        if not name.isidentifier():
            raise ToolArgumentError(f"`definition` must be a function or class name such as `parse`, not {name!r}.")
        lines = split_lines(text)
        blocks, renamed = find_blocks(lines, name), ""
        new_lines = textwrap.dedent(new_str.expandtabs(4)).strip("\n").split("\n")
        header = next((line for line in new_lines if line.strip() and not line.lstrip().startswith("@")), "")
        own = defined_names([header])
        if not blocks and own and (found := find_blocks(lines, own[0][0])):  # the code names itself: trust that
            renamed = (f"There is no `{name}` in {self._name(path)}; rewrote `{own[0][0]}`, the definition your "
                       "new_str names.\n")
            name, blocks = own[0][0], found
        if not blocks:
            near = [f"`{other}` (line {line})" for other, line in defined_names(lines) if name in other][:3]
            hint = (f"Did you mean {' or '.join(near)}? Give that name as `definition`." if near
                    else f"`search` for `def {name}` to find its file.")
            raise ToolError(f"No definition of `{name}` (a `def {name}` or `class {name}` line) in {self._name(path)}. "
                            + hint)
        if len(blocks) > 1:
            raise ToolError(f"`{name}` is defined {len(blocks)} times in {self._name(path)}, at lines "
                            f"{[first for first, _, _ in blocks]}; use str_replace on the one to change.")
        first, last, indent = blocks[0]
        if lines[first - 1].lstrip().startswith("class"):
            raise ToolError(f"`{name}` is a class: rewrite one of its methods (definition: the method's name), or "
                            "use str_replace.")
        if path not in self._seen:  # the 1.5B rewrote functions it never looked at, from the words alone
            self._seen.add(path)
            current = _numbered("\n".join(lines[first - 1:last]), first)
            raise ToolError(_clip(
                f"No replacement was performed: you have not looked at {self._name(path)} yet. `{name}` as it stands "
                f"(lines {first}-{last}):\n{current}\nRewrite it from this code: keep what is right and fix what the "
                "issue describes."))
        if not header_pattern(name).match(header) or header.lstrip().startswith("class"):
            new_lines = _under_old_signature(lines[first - 1:last], indent, new_lines, name)
        while first > 1 and lines[first - 2].strip().startswith("@") and new_lines[0].lstrip().startswith("@"):
            first -= 1  # the new text brings its own decorators: replace the old ones
        kept, had = _code_lines(new_lines), _code_lines(lines[first - 1:last])
        if had >= MIN_GUARDED_LINES and kept * 2 < had:
            lines_of = f"{kept} line{'s' if kept != 1 else ''}"
            raise ToolError(f"No replacement was performed: new_str has {lines_of} of code where `{name}` has {had}. "
                            "rewrite needs the whole function, every line, with your fix in it; to change a few "
                            "lines, use str_replace.")
        new_lines = [" " * indent + line if line.strip() else "" for line in new_lines]
        if new_lines == lines[first - 1:last]:
            raise ToolError("No replacement was performed: new_str is the same as the current definition. "
                            "Write the corrected code in new_str.")
        lines[first - 1:last] = new_lines
        new_text = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
        _check_syntax(new_text, self._name(path), first)
        self._save(path, text, new_text)
        return renamed + self._edited(path, new_text, first, len(new_lines))

    def _insert(self, path: Path, text: str, insert_line: int, new_str: str) -> str:
        lines = split_lines(text)
        if not 0 <= insert_line <= len(lines):
            raise ToolArgumentError(
                f"Invalid insert_line {insert_line}: it must be between 0 and {len(lines)}, "
                "the file's line count (0 inserts at the top)."
            )
        new_lines = split_lines(new_str) or [""]
        lines[insert_line:insert_line] = new_lines
        final_newline = text == "" or text.endswith("\n")
        new_text = "\n".join(lines) + ("\n" if final_newline else "")
        self._save(path, text, new_text)
        return self._edited(path, new_text, insert_line + 1, len(new_lines))

    def _edited(self, path: Path, new_text: str, first_changed: int, changed_lines: int) -> str:
        name = self._name(path)
        return _clip(
            f"The file {name} has been edited. Here's the result of running `cat -n` on a snippet of "
            f"{name}:\n{_snippet(new_text, first_changed, changed_lines)}\n"
            "Review the changes and make sure they are as expected. Edit the file again if necessary."
        )

    def _undo(self, path: Path) -> str:
        history = self._history.get(path)
        if not history:
            raise ToolError(f"No edit history found for {self._name(path)}.")
        previous = history.pop()
        name = self._name(path)
        if previous is None:
            path.unlink(missing_ok=True)
            return f"Last edit to {name} undone successfully: the file it created was removed."
        current = self._read_file(path) if path.exists() else ""
        _write(path, name, previous)
        first, changed = _changed_lines(current, previous)
        return _clip(
            f"Last edit to {name} undone successfully. Here's the result of running `cat -n` on a snippet of "
            f"{name}:\n{_snippet(previous, first, changed)}"
        )
