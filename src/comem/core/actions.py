"""Turn a model answer into (thought, tool call).

Small models rarely emit native `tool_calls` through llama.cpp, so three formats are accepted, in order:
native tool calls, a JSON object in the text (bare or in a code fence), and the XML-ish
`<function=NAME><parameter=KEY>VALUE</parameter></function>` format of the original scaffold.
The parser never raises: when nothing parses it returns a format error for the model to read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from comem.core.records import Completion, ToolCall

_XML_BLOCK = re.compile(r"<function\s*=\s*([^>]+)>(.*?)</function>", re.DOTALL)
_XML_PARAM = re.compile(r"<parameter\s*=\s*([^>]+)>(.*?)</parameter>", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_NAME_KEYS = ("name", "tool", "function", "tool_name", "action")
_ARG_KEYS = ("arguments", "parameters", "args", "input", "params")

MAX_ARGUMENT_DEPTH = 4  # {"view_range": [1, 2]} is depth 2; nothing a tool takes goes deeper
MAX_ARGUMENT_CHARS = 1_000_000
MAX_ARGUMENT_BITS = 63  # line numbers and counts; a bigger integer is a mistake (and past 4300 digits, unprintable)

FORMAT_ERROR = (
    "Your last message contained no valid tool call. Reply with a short thought and then exactly one "
    'tool call as a JSON object, for example: {"name": "bash", "arguments": {"command": "ls"}}. '
    "Valid tools: {tools}."
)


@dataclass(frozen=True)
class ParsedAction:
    thought: str
    call: ToolCall | None
    error: str | None = None  # a message for the model when `call` is None


def parse_action(completion: Completion, tool_names: tuple[str, ...] | list[str]) -> ParsedAction:
    """Extract the first tool call. Unknown tool names still parse; the environment explains them. A call whose
    arguments no tool takes and no trajectory can record (`argument_problem`) is refused with the reason."""
    text = completion.text or ""
    if completion.tool_calls:
        return _checked(text.strip(), completion.tool_calls[0])
    for finder in (_find_xml, _find_json):
        found = finder(text)
        if found is not None:
            call, start = found
            return _checked(text[:start].strip(), call)
    return ParsedAction(
        thought=text.strip(), call=None, error=FORMAT_ERROR.replace("{tools}", ", ".join(tool_names))
    )


def _checked(thought: str, call: ToolCall) -> ParsedAction:
    problem = argument_problem(call.arguments)
    return ParsedAction(thought=thought, call=None, error=problem) if problem else ParsedAction(thought, call)


def argument_problem(arguments: dict[str, Any]) -> str | None:
    """Why these tool arguments cannot be used or recorded (nesting, an enormous integer, a NUL byte, an unpaired
    surrogate, sheer size), as one sentence naming the fix; None when they are fine. Never raises."""
    todo: list[tuple[str, Any, int]] = [(_name(key), value, 1) for key, value in arguments.items()]
    todo += [(_name(key), key, 1) for key in arguments]
    chars = 0
    while todo:
        where, value, depth = todo.pop()
        if depth > MAX_ARGUMENT_DEPTH:
            return (f"Argument `{where}` is nested more than {MAX_ARGUMENT_DEPTH} levels deep; tool arguments are "
                    "strings, integers or a [start, end] pair.")
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_ARGUMENT_BITS:
            digits = int(value.bit_length() * 0.30103)
            return f"Argument `{where}` is an integer of about {digits} digits; use a line number."
        if isinstance(value, dict):
            todo += [(f"{where}.{_name(key)}", item, depth + 1) for key, item in value.items()]
            todo += [(f"{where}.{_name(key)}", key, depth + 1) for key in value]
        elif isinstance(value, list | tuple):
            todo += [(f"{where}[{i}]", item, depth + 1) for i, item in enumerate(value)]
        elif isinstance(value, str):
            chars += len(value)
            if "\0" in value:
                return (f"Argument `{where}` holds a NUL byte (\\x00 at character {value.index(chr(0))}), which no "
                        "path, command or text file here can hold; leave it out.")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return (f"Argument `{where}` holds an unpaired surrogate ({value[exc.start]!r} at character "
                        f"{exc.start}), which is not text; write the character itself or leave it out.")
    if chars > MAX_ARGUMENT_CHARS:
        return (f"The arguments hold {chars} characters, more than {MAX_ARGUMENT_CHARS}; write a large file in parts "
                "(create, then insert) or generate it with a bash command.")
    return None


def _name(key: Any) -> str:
    """A key as an error message can show it: itself when it is short printable ASCII, else escaped and cut."""
    if isinstance(key, str) and key.isascii() and key.isprintable() and len(key) <= 40:
        return key
    return ascii(key)[:40] if isinstance(key, str) else type(key).__name__


def parse_xml_action(text: str) -> ToolCall | None:
    """XML only (docs/method.md §2): the first complete `<function=..>...</function>` block, as stored reference
    actions are written; None when there is none or its name is empty."""
    found = _find_xml(text)
    return found[0] if found else None


def _find_xml(text: str) -> tuple[ToolCall, int] | None:
    m = _XML_BLOCK.search(text)
    if not m or not m.group(1).strip():
        return None
    args = {k.strip(): v.strip() for k, v in _XML_PARAM.findall(m.group(2))}
    return ToolCall(name=m.group(1).strip(), arguments=args), m.start()


def _find_json(text: str) -> tuple[ToolCall, int] | None:
    """The first JSON object (fenced blocks first) that names a tool."""
    candidates: list[tuple[str, int]] = [(m.group(1), m.start()) for m in _FENCE.finditer(text)]
    candidates += _brace_objects(text)
    for chunk, start in candidates:
        obj = _loads(chunk.strip())
        call = _call_from_obj(obj)
        if call is not None:
            return call, start
    return None


def _brace_objects(text: str) -> list[tuple[str, int]]:
    """Top-level `{...}` spans, found by bracket matching that respects JSON strings."""
    spans, depth, start, in_str, esc = [], 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((text[start : i + 1], start))
    return spans


def _loads(chunk: str) -> Any:
    try:
        return json.loads(chunk)
    except (ValueError, RecursionError):
        return None


def _call_from_obj(obj: Any) -> ToolCall | None:
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI shape: {"function": {"name", "arguments"}}
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str) and obj[k].strip()), None)
    if name is None:
        return None
    args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), {})
    if isinstance(args, str):  # arguments as a JSON string, as in the OpenAI wire format
        args = _loads(args) if args.strip() else {}
    if not isinstance(args, dict):
        args = {}
    return ToolCall(name=name.strip(), arguments=args)


def to_xml(call: ToolCall) -> str:
    """The canonical text form of an action (docs/method.md §2), used in memory inputs and training data."""
    params = "".join(f"\n  <parameter={k}>{v}</parameter>" for k, v in call.arguments.items())
    return f"<function={call.name}>{params}\n</function>"
