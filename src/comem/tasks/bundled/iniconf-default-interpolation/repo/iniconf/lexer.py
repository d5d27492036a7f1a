"""Classify the physical lines of an INI file."""

import re
from dataclasses import dataclass

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:[#;].*)?$")
_OPTION = re.compile(r"^(?P<key>[^=:\s][^=:]*?)\s*(?P<sep>[=:])\s*(?P<value>.*)$")
_INLINE_COMMENT = re.compile(r"\s+[#;].*$")


@dataclass
class Line:
    kind: str  # "blank" | "comment" | "section" | "option" | "continuation"
    lineno: int
    name: str = ""  # section name
    key: str = ""
    value: str = ""
    raw: str = ""


class LexError(ValueError):
    def __init__(self, lineno, message):
        super().__init__(message)
        self.lineno = lineno


def strip_inline_comment(value):
    """'8080  # http port' -> '8080'. A '#' or ';' must follow whitespace to start a comment."""
    return _INLINE_COMMENT.sub("", value)


def lex(text):
    """Yield a Line for every physical line of `text`."""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            yield Line("blank", lineno, raw=raw)
        elif stripped[0] in "#;":
            yield Line("comment", lineno, raw=raw)
        elif raw[0] in " \t":
            yield Line("continuation", lineno, value=strip_inline_comment(stripped), raw=raw)
        elif stripped.startswith("["):
            m = _SECTION.match(stripped)
            if not m:
                raise LexError(lineno, f"malformed section header {stripped!r}")
            yield Line("section", lineno, name=m.group("name").strip(), raw=raw)
        else:
            m = _OPTION.match(stripped)
            if not m:
                raise LexError(lineno, f"expected 'key = value', got {stripped!r}")
            value = strip_inline_comment(m.group("value")).strip()
            yield Line("option", lineno, key=m.group("key").strip(), value=value, raw=raw)
