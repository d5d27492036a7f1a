from unitconv import format_quantity
from unitconv.formatting import format_number


def test_format_number():
    assert format_number(2.50) == "2.5"
    assert format_number(3.0) == "3"
    assert format_number(-0.001) == "0"


def test_format_quantity():
    assert format_quantity(180, "minute") == "180 min"
    assert format_quantity(36.6, "degC") == "36.6°C"
