from tinycalc import parse, simplify, to_source


def test_minimal_parentheses():
    assert to_source(parse("(1 + 2) * 3")) == "(1 + 2) * 3"
    assert to_source(parse("1 + (2 * 3)")) == "1 + 2 * 3"
    assert to_source(parse("(8 - 3) - 2")) == "8 - 3 - 2"
    assert to_source(parse("8 - (3 - 2)")) == "8 - (3 - 2)"


def test_calls_and_unary():
    assert to_source(parse("max(x,  -y)")) == "max(x, -y)"
    assert to_source(parse("-(a + b)")) == "-(a + b)"


def test_simplify():
    assert to_source(simplify(parse("x * 1 + (2 + 3)"))) == "x + 5"
    assert to_source(simplify(parse("0 + y ** 1"))) == "y"
    assert to_source(simplify(parse("1 / 0 + z * 0"))) == "1 / 0"
    assert to_source(simplify(parse("--x"))) == "x"


def test_float_numbers():
    assert to_source(parse("2.0 * 0.5")) == "2.0 * 0.5"
