"""Operator precedence and associativity, shared by the parser and the printer.

Higher numbers bind tighter.
"""

LEFT = "left"
RIGHT = "right"

BINARY = {
    "+": (10, LEFT),
    "-": (10, LEFT),
    "*": (20, LEFT),
    "/": (20, LEFT),
    "%": (20, LEFT),
    "**": (30, LEFT),
}

# Prefix + and -.
UNARY = 40

# Numbers, names, calls and parenthesised expressions.
ATOM = 100
