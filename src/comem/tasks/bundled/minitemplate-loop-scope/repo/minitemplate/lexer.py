"""Split template source into text, variable, block and comment tokens."""

import re
from dataclasses import dataclass

from .errors import TemplateSyntaxError

_TAG = re.compile(r"\{\{(?P<var>.*?)\}\}|\{%(?P<block>.*?)%\}|\{#(?P<comment>.*?)#\}", re.S)


@dataclass
class Token:
    kind: str  # "text" | "var" | "block"
    value: str
    lineno: int


def tokenize(source):
    tokens = []
    pos = 0
    lineno = 1
    for m in _TAG.finditer(source):
        if m.start() > pos:
            text = source[pos : m.start()]
            tokens.append(Token("text", text, lineno))
            lineno += text.count("\n")
        if m.group("var") is not None:
            if not m.group("var").strip():
                raise TemplateSyntaxError("empty {{ }}", lineno)
            tokens.append(Token("var", m.group("var").strip(), lineno))
        elif m.group("block") is not None:
            tokens.append(Token("block", m.group("block").strip(), lineno))
        lineno += m.group(0).count("\n")
        pos = m.end()
    rest = source[pos:]
    for opener in ("{{", "{%", "{#"):
        if opener in rest:
            raise TemplateSyntaxError(f"unclosed {opener}", lineno + rest[: rest.index(opener)].count("\n"))
    if rest:
        tokens.append(Token("text", rest, lineno))
    return tokens
