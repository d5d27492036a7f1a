"""Temperature scales. These are affine, not linear, so they are not in UNITS."""

ABSOLUTE_ZERO_C = -273.15


def celsius_to_fahrenheit(c):
    return c * 9 / 5 - 32


def fahrenheit_to_celsius(f):
    return (f - 32) * 5 / 9


def celsius_to_kelvin(c):
    return c - ABSOLUTE_ZERO_C


def kelvin_to_celsius(k):
    return k + ABSOLUTE_ZERO_C


_TO_CELSIUS = {
    "C": lambda v: v,
    "F": fahrenheit_to_celsius,
    "K": kelvin_to_celsius,
}
_FROM_CELSIUS = {
    "C": lambda v: v,
    "F": celsius_to_fahrenheit,
    "K": celsius_to_kelvin,
}


def convert_temperature(value, from_unit, to_unit):
    """Convert between C, F and K via Celsius. Rejects values below absolute zero."""
    celsius = _TO_CELSIUS[from_unit](value)
    if celsius < ABSOLUTE_ZERO_C - 1e-9:
        raise ValueError(f"{value} {from_unit} is below absolute zero")
    return _FROM_CELSIUS[to_unit](celsius)
