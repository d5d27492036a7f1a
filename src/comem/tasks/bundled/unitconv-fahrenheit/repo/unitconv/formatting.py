"""Human-friendly output."""

from .units import canonical

_SYMBOLS = {"C": "°C", "F": "°F", "K": "K"}


def format_number(value, precision=2):
    """Round to `precision` decimals and drop trailing zeros: 2.50 -> '2.5', 3.0 -> '3'."""
    text = f"{value:.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def format_quantity(value, unit, precision=2):
    unit = canonical(unit)
    symbol = _SYMBOLS.get(unit)
    if symbol is not None:
        return f"{format_number(value, precision)}{symbol}"
    return f"{format_number(value, precision)} {unit}"
