"""The tool contract shown to the model: names, JSON schemas, and how loose arguments are read.

Weak models send `"3"` for 3 and `"[1, 20]"` for a list, or forget an argument. Argument readers
here coerce what is unambiguous and otherwise raise `ToolArgumentError`, whose message tells the
model the valid call shape, so a bad call costs one turn instead of the run.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from comem.core.call_grammar import CallShape

TOOL_NAMES = ("bash", "file_editor", "search", "submit")
FILE_EDITOR_COMMANDS = ("view", "create", "str_replace", "rewrite", "insert", "undo_edit")
# Tool sets an agent may be given: the default four, or bash alone (mini-swe-agent's finding: models small and large
# do well with a shell only).
TOOL_SETS = {"default": TOOL_NAMES, "bash": ("bash", "submit")}
# Each file_editor command's (required, optional) arguments besides `command`: the grammar writes one call form each.
FILE_EDITOR_ARGUMENTS = {
    "view": (("path",), ("view_range",)), "create": (("path", "file_text"), ()),
    "str_replace": (("path", "old_str", "new_str"), ()), "rewrite": (("path", "definition", "new_str"), ()),
    "insert": (("path", "insert_line", "new_str"), ()),
    "undo_edit": (("path",), ()),
}


class ToolError(Exception):
    """A tool call that failed in a way the model can fix; the message becomes the observation."""


class ToolArgumentError(ToolError):
    """The call's arguments are missing or malformed; the observation also shows the tool's usage."""


def function_tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    """One OpenAI function-tool schema; every environment builds its tools with it."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


def build_tool_specs(bash_timeout_s: float) -> list[dict[str, Any]]:
    """OpenAI function-tool schemas for the four tools, in TOOL_NAMES order."""
    return [
        function_tool(
            "bash",
            "Run a bash command in the repository root and return its exit code and output. Each call "
            "is a fresh non-interactive shell (no state is kept between calls; stdin is empty); "
            f"commands are killed after {bash_timeout_s:g} s, and long output is cut in the middle.",
            {"command": {"type": "string", "description": "The command, e.g. `python -m pytest -q tests`."}},
            ["command"],
        ),
        function_tool(
            "file_editor",
            "View, create and edit files. `view`: a file with line numbers, or a directory listing 2 "
            "levels deep. `create`: write a new file (never overwrites). `str_replace`: replace old_str, "
            "which must occur exactly once, with new_str. `rewrite`: replace the whole function or method named "
            "`definition` with new_str, its complete new code. `insert`: insert new_str after line "
            "insert_line (0 = top of file). `undo_edit`: revert the last edit to the file.",
            {
                "command": {"type": "string", "enum": list(FILE_EDITOR_COMMANDS)},
                "path": {
                    "type": "string",
                    "description": "File or directory, relative to the repository root (or absolute inside it).",
                },
                "file_text": {"type": "string", "description": "Content of the new file (create)."},
                "old_str": {
                    "type": "string",
                    "description": "Exact text to replace, whitespace included; add lines of context "
                    "until it is unique (str_replace).",
                },
                "definition": {
                    "type": "string",
                    "description": "The name of the function or method whose definition is replaced (rewrite).",
                },
                "new_str": {
                    "type": "string",
                    "description": "Replacement text (str_replace), the complete new function from its `def` "
                    "line (rewrite), or text to insert (insert).",
                },
                "insert_line": {
                    "type": "integer",
                    "description": "Line number after which new_str is inserted; 0 inserts at the top (insert).",
                },
                "view_range": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": "[start, end] line numbers to show, 1-based, inclusive; end -1 means "
                    "to the end of the file (view).",
                },
            },
            ["command", "path"],
        ),
        function_tool(
            "search",
            "Find a literal string (not a regex; case-sensitive) in the text files under a directory, "
            "or in one file. Prints `path:line: text` for up to 100 matches.",
            {
                "search_term": {"type": "string", "description": "The exact text to look for."},
                "path": {
                    "type": "string",
                    "description": 'Directory or file to search, relative to the repository root. Default ".".',
                },
            },
            ["search_term"],
        ),
        function_tool(
            "submit",
            "Finish the task. Call this once your changes are complete; the repository as it is then is your answer.",
            {},
            [],
        ),
    ]


def select_tools(specs: list[dict[str, Any]], tool_set: str) -> list[dict[str, Any]]:
    """The schemas of the tools in `tool_set` (a key of TOOL_SETS); another environment's tools are left as they are."""
    if {spec["function"]["name"] for spec in specs} != set(TOOL_NAMES):
        return specs
    return [spec for spec in specs if spec["function"]["name"] in TOOL_SETS[tool_set]]


def call_shapes(specs: list[dict[str, Any]]) -> list[CallShape]:
    """The call forms a grammar allows: each tool as its schema says, file_editor split per command, so a `view`
    cannot lack its path nor an `insert` its line."""
    from comem.core.call_grammar import CallShape, shapes_from_specs  # here: the container's tool runner lacks it

    shapes = []
    for shape in shapes_from_specs(specs):
        if shape.name != "file_editor":
            shapes.append(shape)
            continue
        for command, (required, optional) in FILE_EDITOR_ARGUMENTS.items():
            properties = {"command": {"const": command}} | {
                key: shape.properties[key] for key in (*required, *optional)}
            shapes.append(CallShape("file_editor", properties, ("command", *required)))
    return shapes


def tool_grammar(specs: list[dict[str, Any]]) -> str:
    """The GBNF grammar of a reply that calls one of these tools (`call_shapes`); ValueError where a schema
    cannot be written as one."""
    from comem.core.call_grammar import tool_call_grammar

    return tool_call_grammar(call_shapes(specs))


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(schema["enum"])
    if schema.get("type") == "array":
        item, count = schema["items"]["type"], schema.get("maxItems")
        return f"[{', '.join([item] * count)}]" if count else f"[{item}, ...]"
    return schema.get("type", "any")


def usage(specs: list[dict[str, Any]], name: str) -> str:
    """One line per tool such as `search(search_term: string, path?: string)`, for error messages."""
    for spec in specs:
        function = spec["function"]
        if function["name"] == name:
            params = function["parameters"]
            args = [
                f"{arg}{'' if arg in params['required'] else '?'}: {_type_name(schema)}"
                for arg, schema in params["properties"].items()
            ]
            return f"{name}({', '.join(args)})"
    raise KeyError(name)


def valid_tools(specs: list[dict[str, Any]]) -> str:
    lines = [usage(specs, spec["function"]["name"]) for spec in specs]
    return "Valid tools (`?` marks an optional argument):\n" + "\n".join(f"  {line}" for line in lines)


def _present(args: dict[str, Any], key: str) -> bool:
    return args.get(key) is not None


def text_arg(args: dict[str, Any], key: str, *, required: bool, default: str | None = None) -> str | None:
    """A string argument; a number becomes its text (models sometimes send `old_str: 42`)."""
    if not _present(args, key):
        if required:
            raise ToolArgumentError(f"Missing required argument `{key}`.")
        return default
    value = args[key]
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ToolArgumentError(f"Argument `{key}` must be a string, got {type(value).__name__}.")


def int_arg(args: dict[str, Any], key: str) -> int | None:
    """An integer argument; accepts "3", 3.0 and " 3 " but not "three" or 3.5."""
    if not _present(args, key):
        return None
    value = args[key]
    if isinstance(value, bool):
        raise ToolArgumentError(f"Argument `{key}` must be an integer, got {value!r}.")
    if isinstance(value, int) and abs(value) < 10**18:
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    raise ToolArgumentError(f"Argument `{key}` must be an integer, got {_shown(value)}.")


def range_arg(args: dict[str, Any], key: str) -> tuple[int, int] | None:
    """Two integers from [1, 20], ["1", "20"], "[1, 20]", "1,20" or "1-20"-like text."""
    if not _present(args, key):
        return None
    value = args[key]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, a 4300+ digit number, or nested past the stack
            value = re.findall(r"-?\d+", value.replace(" - ", " "))
            # "1-20" reads as 1 and -20: a negative end other than -1 is a range dash
            if len(value) == 2 and value[1].startswith("-") and value[1] != "-1":
                value[1] = value[1][1:]
    if isinstance(value, list | tuple) and len(value) == 2:
        start, end = (int_arg({key: item}, key) for item in value)
        if start is not None and end is not None:
            return start, end
    raise ToolArgumentError(f"Argument `{key}` must be two integers [start, end], got {_shown(args[key])}.")


def _shown(value: Any, limit: int = 80) -> str:
    """A wrong argument as an error message quotes it: short, and never raising (deep nesting, huge numbers)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} that cannot be shown"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def resolve_in_root(root: Path, raw_path: str) -> Path:
    """The absolute path for `raw_path` (relative to `root`, or absolute), refused if it leaves `root`.

    Symlinks are resolved first, so a link inside the workspace cannot point the tools elsewhere.
    """
    cleaned = raw_path.strip()
    if not cleaned:
        raise ToolArgumentError("Argument `path` is empty.")
    candidate = Path(cleaned)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ToolError(
            f"The path {cleaned} is outside the repository ({root}). "
            "Use a path relative to the repository root, or an absolute path inside it."
        )
    return resolved


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory"}


def open_regular(path: Path, name: str, *, write: bool = False) -> int:
    """A file descriptor for the regular file at `path`, opened without ever blocking; the caller closes it.

    FIFOs, sockets and devices are refused (opening a FIFO waits for a writer forever), and so are hard links: a
    second name for a file that may live outside the repository, which resolving the path cannot see.
    """
    fd = os.open(path, (os.O_RDWR if write else os.O_RDONLY) | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
            raise ToolError(f"{name} is {kind}, not a regular file; file_editor and search only read regular files.")
        if info.st_nlink > 1:
            raise ToolError(f"{name} is a hard link (the file has {info.st_nlink} names, which may lie outside the "
                            "repository); file_editor and search do not follow hard links. Work on a copy (`cp`).")
    except BaseException:
        os.close(fd)
        raise
    return fd


def display_path(root: Path, path: Path) -> str:
    """Paths relative to the root, as the agent's shell (cwd = root) would write them."""
    relative = path.relative_to(root)
    return "." if relative == Path(".") else str(relative)
