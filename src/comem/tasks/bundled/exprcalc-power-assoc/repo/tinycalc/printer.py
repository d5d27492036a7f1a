"""Print expression trees back as text with minimal parentheses."""

from .nodes import Binary, Call, Name, Num, Unary
from .precedence import ATOM, BINARY, UNARY


def _precedence(node):
    if isinstance(node, Binary):
        return BINARY[node.op][0]
    if isinstance(node, Unary):
        return UNARY
    return ATOM


def _needs_parens(child, parent_prec, side):
    """Does `child`, printed as the `side` operand of an operator of precedence
    `parent_prec`, need parentheses to parse back to the same tree?"""
    prec = _precedence(child)
    if prec < parent_prec:
        return True
    if prec == parent_prec and side == "right":
        # a - (b - c): operators group to the left, so an equal-precedence right operand needs them
        return True
    return False


def _wrap(child, parent_prec, side):
    text = to_source(child)
    return f"({text})" if _needs_parens(child, parent_prec, side) else text


def _number(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    return repr(value)


def to_source(node):
    if isinstance(node, Num):
        text = _number(node.value)
        return f"({text})" if text.startswith("-") else text
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        return f"{node.func}({', '.join(to_source(a) for a in node.args)})"
    if isinstance(node, Unary):
        return node.op + _wrap(node.operand, UNARY, "right")
    if isinstance(node, Binary):
        prec = BINARY[node.op][0]
        return f"{_wrap(node.left, prec, 'left')} {node.op} {_wrap(node.right, prec, 'right')}"
    raise TypeError(f"not an expression node: {node!r}")
