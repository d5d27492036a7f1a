"""Constant folding and algebraic identities."""

from .errors import CalcError
from .evaluator import BINARY_OPS, UNARY_OPS
from .nodes import Binary, Call, Num, Unary


def _is(node, value):
    return isinstance(node, Num) and node.value == value


def simplify(node):
    """Fold constant sub-expressions and apply x+0, x*1, x*0, x**1, x**0, --x identities.
    Sub-expressions that would fail to evaluate (e.g. 1/0) are left alone."""
    if isinstance(node, Unary):
        operand = simplify(node.operand)
        if isinstance(operand, Num):
            return Num(UNARY_OPS[node.op](operand.value))
        if node.op == "+":
            return operand
        if isinstance(operand, Unary) and operand.op == "-":
            return operand.operand
        return Unary(node.op, operand)
    if isinstance(node, Binary):
        left, right = simplify(node.left), simplify(node.right)
        if isinstance(left, Num) and isinstance(right, Num):
            try:
                return Num(BINARY_OPS[node.op](left.value, right.value))
            except (CalcError, ArithmeticError):
                return Binary(node.op, left, right)
        op = node.op
        if op == "+" and _is(right, 0) or op == "-" and _is(right, 0):
            return left
        if op == "+" and _is(left, 0):
            return right
        if op == "*" and (_is(left, 0) or _is(right, 0)):
            return Num(0)
        if op == "*" and _is(right, 1) or op == "/" and _is(right, 1):
            return left
        if op == "*" and _is(left, 1):
            return right
        if op == "**" and _is(right, 1):
            return left
        if op == "**" and _is(right, 0):
            return Num(1)
        return Binary(op, left, right)
    if isinstance(node, Call):
        return Call(node.func, tuple(simplify(a) for a in node.args))
    return node
