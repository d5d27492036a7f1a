import pytest

from unitconv import convert
from unitconv.temperature import fahrenheit_to_celsius


def test_fahrenheit_to_celsius():
    assert fahrenheit_to_celsius(212) == pytest.approx(100)
    assert fahrenheit_to_celsius(32) == pytest.approx(0)


def test_celsius_kelvin():
    assert convert(0, "C", "K") == pytest.approx(273.15)
    assert convert(0, "K", "C") == pytest.approx(-273.15)


def test_below_absolute_zero_rejected():
    with pytest.raises(ValueError):
        convert(-300, "C", "K")


def test_fahrenheit_input():
    assert convert(98.6, "F", "C") == pytest.approx(37)
