"""tinycalc: parse, evaluate, simplify and print arithmetic expressions."""

from .errors import CalcError, CalcSyntaxError
from .evaluator import FUNCTIONS, evaluate
from .parser import parse
from .printer import to_source
from .simplify import simplify


def calc(text, **variables):
    """Parse and evaluate `text` with the given variables."""
    return evaluate(parse(text), variables)


__all__ = ["FUNCTIONS", "CalcError", "CalcSyntaxError", "calc", "evaluate", "parse", "simplify", "to_source"]
