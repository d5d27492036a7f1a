"""Evaluate expression trees."""

import math
import operator

from .errors import CalcError
from .nodes import Binary, Call, Name, Num, Unary

MAX_EXPONENT = 10_000

CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _sqrt(x):
    if x < 0:
        raise CalcError("sqrt of a negative number")
    return math.sqrt(x)


FUNCTIONS = {
    "abs": (abs, 1),
    "sqrt": (_sqrt, 1),
    "round": (round, None),
    "min": (min, None),
    "max": (max, None),
    "floor": (math.floor, 1),
    "ceil": (math.ceil, 1),
}


def _div(a, b):
    if b == 0:
        raise CalcError("division by zero")
    return a / b


def _mod(a, b):
    if b == 0:
        raise CalcError("modulo by zero")
    return a % b


def _pow(a, b):
    if abs(b) > MAX_EXPONENT:
        raise CalcError(f"exponent {b} is too large")
    if a == 0 and b < 0:
        raise CalcError("zero to a negative power")
    return a**b


BINARY_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _div,
    "%": _mod,
    "**": _pow,
}
UNARY_OPS = {"-": operator.neg, "+": operator.pos}


def evaluate(node, variables=None):
    variables = variables or {}
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        if node.name in variables:
            return variables[node.name]
        if node.name in CONSTANTS:
            return CONSTANTS[node.name]
        raise CalcError(f"unknown name {node.name!r}")
    if isinstance(node, Unary):
        return UNARY_OPS[node.op](evaluate(node.operand, variables))
    if isinstance(node, Binary):
        return BINARY_OPS[node.op](evaluate(node.left, variables), evaluate(node.right, variables))
    if isinstance(node, Call):
        if node.func not in FUNCTIONS:
            raise CalcError(f"unknown function {node.func!r}")
        func, arity = FUNCTIONS[node.func]
        if arity is not None and len(node.args) != arity:
            raise CalcError(f"{node.func}() takes {arity} argument(s), got {len(node.args)}")
        return func(*(evaluate(a, variables) for a in node.args))
    raise TypeError(f"not an expression node: {node!r}")
