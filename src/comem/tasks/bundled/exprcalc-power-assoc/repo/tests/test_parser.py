import pytest

from tinycalc import CalcSyntaxError, parse
from tinycalc.nodes import Binary, Call, Name, Num, Unary
from tinycalc.tokens import tokenize


def test_tokenize():
    assert [t.value for t in tokenize("2**x+ 1.5e3")] == ["2", "**", "x", "+", "1.5e3", ""]


def test_precedence_of_additive_and_multiplicative():
    assert parse("1 + 2 * 3") == Binary("+", Num(1), Binary("*", Num(2), Num(3)))
    assert parse("(1 + 2) * 3") == Binary("*", Binary("+", Num(1), Num(2)), Num(3))


def test_left_associative_subtraction_and_division():
    assert parse("8 - 3 - 2") == Binary("-", Binary("-", Num(8), Num(3)), Num(2))
    assert parse("8 / 4 / 2") == Binary("/", Binary("/", Num(8), Num(4)), Num(2))


def test_calls_and_names():
    assert parse("max(x, 2)") == Call("max", (Name("x"), Num(2)))
    assert parse("f()") == Call("f", ())


def test_unary_and_multiplication():
    assert parse("-x * 2") == Binary("*", Unary("-", Name("x")), Num(2))
    assert parse("2 * -3") == Binary("*", Num(2), Unary("-", Num(3)))


@pytest.mark.parametrize("text", ["", "1 +", "(1", "1 2", "2 $ 3", "max(1,", ")"])
def test_syntax_errors(text):
    with pytest.raises(CalcSyntaxError):
        parse(text)
