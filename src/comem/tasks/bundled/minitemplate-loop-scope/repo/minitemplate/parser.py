"""Build a node tree from tokens."""

import re

from .errors import TemplateSyntaxError
from .expressions import compile_expression
from .nodes import For, If, Output, Set, Text

_FOR = re.compile(r"^for\s+(?P<targets>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+in\s+(?P<expr>.+)$")
_SET = re.compile(r"^set\s+(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<expr>.+)$")


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def parse_body(self, end_tags=()):
        """Parse nodes until one of end_tags; returns (nodes, the end tag found or None)."""
        nodes = []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            self.pos += 1
            if tok.kind == "text":
                nodes.append(Text(tok.value))
            elif tok.kind == "var":
                nodes.append(Output(self._expr(tok.value, tok.lineno)))
            else:
                word = tok.value.split(None, 1)[0] if tok.value else ""
                if word in end_tags:
                    return nodes, tok
                nodes.append(self.parse_block(tok, word))
        if end_tags:
            raise TemplateSyntaxError(f"missing {{% {end_tags[-1]} %}}")
        return nodes, None

    def _expr(self, text, lineno):
        try:
            return compile_expression(text)
        except TemplateSyntaxError as exc:
            raise TemplateSyntaxError(str(exc), lineno) from None

    def parse_block(self, tok, word):
        if word == "for":
            m = _FOR.match(tok.value)
            if not m:
                raise TemplateSyntaxError(f"bad for tag {tok.value!r}", tok.lineno)
            targets = [t.strip() for t in m.group("targets").split(",")]
            iterable = self._expr(m.group("expr"), tok.lineno)
            body, end = self.parse_body(("else", "endfor"))
            else_body = []
            if end.value == "else":
                else_body, _ = self.parse_body(("endfor",))
            return For(targets, iterable, body, else_body)
        if word == "if":
            branches = []
            condition = self._expr(tok.value[2:], tok.lineno)
            while True:
                body, end = self.parse_body(("elif", "else", "endif"))
                branches.append((condition, body))
                if end.value.startswith("elif"):
                    condition = self._expr(end.value[4:], end.lineno)
                    continue
                else_body = []
                if end.value == "else":
                    else_body, _ = self.parse_body(("endif",))
                return If(branches, else_body)
        if word == "set":
            m = _SET.match(tok.value)
            if not m:
                raise TemplateSyntaxError(f"bad set tag {tok.value!r}", tok.lineno)
            return Set(m.group("name"), self._expr(m.group("expr"), tok.lineno))
        raise TemplateSyntaxError(f"unknown tag {word!r}", tok.lineno)


def parse(tokens):
    nodes, _ = _Parser(tokens).parse_body()
    return nodes
