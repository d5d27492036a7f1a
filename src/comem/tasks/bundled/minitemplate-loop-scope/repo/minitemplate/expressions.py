"""Expressions: literals, dotted names, filters, not/and/or, == and !=.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := filtered (("==" | "!=") filtered)?
    filtered:= atom ("|" NAME ("(" args ")")?)*
    atom    := STRING | NUMBER | NAME("." NAME)* | "(" expr ")"
"""

import re

from .errors import TemplateSyntaxError

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^']*'|\"[^\"]*\")|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|(?P<op>==|!=|[|(),]))"
)
_CONSTANTS = {"true": True, "false": False, "none": None}


def _lex(text):
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise TemplateSyntaxError(f"unexpected {text[pos:]!r} in expression {text!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise TemplateSyntaxError(f"expected {value or 'more'} in expression {self.text!r}")
        self.pos += 1
        return tok

    def parse(self):
        node = self.parse_or()
        if self.pos != len(self.tokens):
            raise TemplateSyntaxError(f"unexpected {self.peek()[1]!r} in expression {self.text!r}")
        return node

    def parse_or(self):
        node = self.parse_and()
        while self.peek() == ("name", "or"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.peek() == ("name", "and"):
            self.take()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.peek() == ("name", "not"):
            self.take()
            return ("not", self.parse_not())
        return self.parse_compare()

    def parse_compare(self):
        node = self.parse_filtered()
        if self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            node = (op, node, self.parse_filtered())
        return node

    def parse_filtered(self):
        node = self.parse_atom()
        while self.peek() == ("op", "|"):
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise TemplateSyntaxError(f"expected a filter name in {self.text!r}")
            args = []
            if self.peek() == ("op", "("):
                self.take()
                while self.peek() != ("op", ")"):
                    args.append(self.parse_or())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
            node = ("filter", name, node, args)
        return node

    def parse_atom(self):
        kind, value = self.take()
        if kind == "string":
            return ("const", value[1:-1])
        if kind == "number":
            return ("const", float(value) if "." in value else int(value))
        if kind == "name":
            if value in _CONSTANTS:
                return ("const", _CONSTANTS[value])
            return ("name", value)
        if value == "(":
            node = self.parse_or()
            self.take(")")
            return node
        raise TemplateSyntaxError(f"unexpected {value!r} in expression {self.text!r}")


def compile_expression(text):
    return _Parser(text).parse()


def evaluate(node, ctx):
    op = node[0]
    if op == "const":
        return node[1]
    if op == "name":
        return ctx.resolve(node[1])
    if op == "filter":
        _, name, arg, args = node
        func = ctx.filters.get(name)
        if func is None:
            raise TemplateSyntaxError(f"unknown filter {name!r}")
        return func(evaluate(arg, ctx), *(evaluate(a, ctx) for a in args))
    if op == "not":
        return not evaluate(node[1], ctx)
    if op == "and":
        return evaluate(node[1], ctx) and evaluate(node[2], ctx)
    if op == "or":
        return evaluate(node[1], ctx) or evaluate(node[2], ctx)
    if op == "==":
        return evaluate(node[1], ctx) == evaluate(node[2], ctx)
    if op == "!=":
        return evaluate(node[1], ctx) != evaluate(node[2], ctx)
    raise AssertionError(op)
