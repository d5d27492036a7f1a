"""Precedence-climbing (Pratt) parser."""

from .errors import CalcSyntaxError
from .nodes import Binary, Call, Name, Num, Unary
from .precedence import BINARY, LEFT, UNARY
from .tokens import tokenize


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos]

    def advance(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, value):
        tok = self.advance()
        if tok.value != value:
            found = repr(tok.value) if tok.kind != "end" else "end of input"
            raise CalcSyntaxError(f"expected {value!r}, found {found}", self.text, tok.pos)
        return tok

    def parse(self):
        node = self.parse_expression(0)
        tok = self.peek()
        if tok.kind != "end":
            raise CalcSyntaxError(f"unexpected {tok.value!r}", self.text, tok.pos)
        return node

    def parse_expression(self, min_prec):
        """Parse operators binding at least as tightly as min_prec."""
        left = self.parse_prefix()
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.value not in BINARY:
                break
            prec, assoc = BINARY[tok.value]
            if prec < min_prec:
                break
            self.advance()
            right = self.parse_expression(prec + 1 if assoc == LEFT else prec)
            left = Binary(tok.value, left, right)
        return left

    def parse_prefix(self):
        tok = self.advance()
        if tok.kind == "number":
            text = tok.value
            is_float = any(c in text for c in ".eE")
            return Num(float(text) if is_float else int(text))
        if tok.kind == "name":
            if self.peek().value == "(":
                self.advance()
                args = []
                if self.peek().value != ")":
                    args.append(self.parse_expression(0))
                    while self.peek().value == ",":
                        self.advance()
                        args.append(self.parse_expression(0))
                self.expect(")")
                return Call(tok.value, tuple(args))
            return Name(tok.value)
        if tok.value == "(":
            node = self.parse_expression(0)
            self.expect(")")
            return node
        if tok.value in ("-", "+"):
            return Unary(tok.value, self.parse_expression(UNARY))
        found = repr(tok.value) if tok.kind != "end" else "end of input"
        raise CalcSyntaxError(f"expected a value, found {found}", self.text, tok.pos)


def parse(text):
    """Parse an expression into a tree of tinycalc.nodes."""
    return _Parser(text).parse()
