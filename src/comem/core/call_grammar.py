"""A GBNF grammar for the agent's reply: one line of thought, then one tool call that its tool's schema accepts.

llama.cpp samples only tokens the grammar allows, so a small model cannot write a malformed call: JSON that does
not parse, a tool that does not exist, a missing required argument, `view_range` as thirty numbers or a string,
an integer of a thousand digits. The reply keeps the format the prompt teaches (a sentence, then
`{"name": ..., "arguments": {...}}`), so `parse_action` reads it like any other reply. Servers without grammars
keep the parser's fallbacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_THOUGHT_CHARS = 200  # "one short sentence": a small model otherwise restates the issue for 100 tokens a step
MAX_INT_DIGITS = 9  # line numbers and counts

_BASE_RULES = r"""ws ::= [ ]?
string ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CefEF] hex hex hex | [dD] [0-7] hex hex))
hex ::= [0-9a-fA-F]
integer ::= "0" | "-"? [1-9] [0-9]{0,MAX_MORE_DIGITS}
number ::= "-"? [0-9]{1,12} ("." [0-9]{1,12})?
boolean ::= "true" | "false"
""".replace("MAX_MORE_DIGITS", str(MAX_INT_DIGITS - 1))


@dataclass(frozen=True)
class CallShape:
    """One form a call may take: the tool, its argument schemas in the order they are written, the required ones.
    A schema with `const` (or a one-value `enum`) pins that argument, e.g. file_editor's `command`."""

    name: str
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()


def shapes_from_specs(specs: list[dict[str, Any]]) -> list[CallShape]:
    """One shape per OpenAI function-tool schema, as the schema says."""
    shapes = []
    for spec in specs:
        function = spec["function"]
        params = function.get("parameters") or {}
        shapes.append(CallShape(function["name"], dict(params.get("properties") or {}),
                                tuple(params.get("required") or ())))
    return shapes


def tool_call_grammar(shapes: list[CallShape]) -> str:
    """The GBNF: `root ::= thought "\\n" call`, the call one of the shapes. Raises ValueError for an argument schema
    it cannot express (the caller then sends no grammar)."""
    if not shapes:
        raise ValueError("no tools to call")
    rules = [f'root ::= [^{{\\n] [^{{\\n]{{0,{MAX_THOUGHT_CHARS - 1}}} "\\n" call',
             "call ::= " + " | ".join(f"call{i}" for i in range(len(shapes)))]
    for i, shape in enumerate(shapes):
        args = _sequence([(key, shape.properties[key], key in shape.required) for key in _ordered(shape)], first=True)
        rules.append(f'call{i} ::= "{{" ws {_lit(json.dumps("name"))} ws ":" ws {_lit(json.dumps(shape.name))} ws '
                     f'"," ws {_lit(json.dumps("arguments"))} ws ":" ws "{{" ws {args} ws "}}" ws "}}"')
    return "\n".join(rules) + "\n" + _BASE_RULES


def _ordered(shape: CallShape) -> list[str]:
    """Required arguments first (in schema order), then the optional ones: a model writes what it must first."""
    keys = list(shape.properties)
    return [k for k in keys if k in shape.required] + [k for k in keys if k not in shape.required]


def _sequence(items: list[tuple[str, dict[str, Any], bool]], *, first: bool) -> str:
    """`"key": value` pairs in order, optional ones may be left out, commas only between pairs."""
    if not items:
        return '""'
    (key, schema, required), rest = items[0], items[1:]
    comma = "" if first else '"," ws '
    pair = f'{comma}{_lit(json.dumps(key))} ws ":" ws {_value(schema)}'
    after = _sequence(rest, first=False)
    if required:
        return f"{pair} {after}"
    if not first:
        return f"({pair})? {after}"
    return f"({pair} {after} | {_sequence(rest, first=True)})"


def _value(schema: dict[str, Any]) -> str:
    if "const" in schema:
        return _lit(json.dumps(schema["const"]))
    if "enum" in schema:
        return "(" + " | ".join(_lit(json.dumps(v)) for v in schema["enum"]) + ")"
    kind = schema.get("type")
    if kind in ("string", "integer", "number", "boolean"):
        return kind
    if kind == "array":
        item = _value(schema.get("items") or {"type": "string"})
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        if high is not None and low == high and low > 0:
            return '"[" ws ' + ' ws "," ws '.join([item] * low) + ' ws "]"'
        return f'"[" ws ({item} (ws "," ws {item})*)? ws "]"'
    raise ValueError(f"no grammar for argument schema {schema!r}")


def _lit(text: str) -> str:
    """A GBNF string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
