import math

import pytest

from tinycalc import CalcError, calc


def test_arithmetic():
    assert calc("1 + 2 * 3") == 7
    assert calc("(1 + 2) * 3") == 9
    assert calc("7 % 4 - 10 / 4") == 0.5
    assert calc("8 - 3 - 2") == 3


def test_variables_constants_functions():
    assert calc("2 * (x + 1)", x=3) == 8
    assert calc("round(pi, 2)") == 3.14
    assert calc("max(1, sqrt(16)) % 3") == 1.0
    assert calc("abs(-5) + floor(2.7)") == 7


def test_simple_power():
    assert calc("2 ** 10") == 1024
    assert calc("x ** 2", x=1.5) == 2.25


def test_negative_numbers():
    assert calc("-3 + 5") == 2
    assert calc("-(2 + 3) * 2") == -10


@pytest.mark.parametrize("text", ["1 / 0", "5 % 0", "y + 1", "nope(1)", "sqrt(-1)", "2 ** 100000", "sqrt(1, 2)"])
def test_errors(text):
    with pytest.raises(CalcError):
        calc(text)


def test_float_results():
    assert math.isclose(calc("e ** 1"), math.e)
