import pytest

from unitconv import ConversionError, convert, dimension_of, parse_quantity
from unitconv.convert import convert_text


def test_length():
    assert convert(5, "km", "m") == 5000
    assert convert(1, "mi", "km") == pytest.approx(1.609344)
    assert convert(12, "in", "ft") == pytest.approx(1.0)


def test_mass_and_aliases():
    assert convert(1, "pound", "oz") == pytest.approx(16)
    assert convert(2500, "grams", "kg") == pytest.approx(2.5)


def test_time_and_volume():
    assert convert(3, "h", "min") == 180
    assert convert(1, "gal", "l") == pytest.approx(3.785411784)


def test_incompatible_dimensions():
    with pytest.raises(ConversionError):
        convert(1, "kg", "m")
    with pytest.raises(ConversionError):
        convert(1, "C", "m")


def test_unknown_unit():
    with pytest.raises(ConversionError):
        convert(1, "parsec", "m")


def test_parse_quantity():
    assert parse_quantity("12.5 km") == (12.5, "km")
    assert parse_quantity("-40degC") == (-40.0, "C")
    assert parse_quantity("3 feet") == (3.0, "ft")


def test_dimension_of():
    assert dimension_of("lbs") == "mass"
    assert dimension_of("kelvin") == "temperature"


def test_convert_text_linear():
    assert convert_text("2 km", "m") == 2000
