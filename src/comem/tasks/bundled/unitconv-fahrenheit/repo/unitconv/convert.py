"""The public conversion entry points."""

import re

from .temperature import convert_temperature
from .units import TEMPERATURE_UNITS, UNITS, canonical

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)\s*$")


class ConversionError(ValueError):
    pass


def convert(value, from_unit, to_unit):
    """Convert `value` from one unit to another of the same dimension."""
    src, dst = canonical(from_unit), canonical(to_unit)
    if src in TEMPERATURE_UNITS or dst in TEMPERATURE_UNITS:
        if src not in TEMPERATURE_UNITS or dst not in TEMPERATURE_UNITS:
            raise ConversionError(f"cannot convert {from_unit} to {to_unit}")
        return convert_temperature(value, src, dst)
    try:
        src_dim, src_factor = UNITS[src]
        dst_dim, dst_factor = UNITS[dst]
    except KeyError as exc:
        raise ConversionError(f"unknown unit {exc.args[0]!r}") from None
    if src_dim != dst_dim:
        raise ConversionError(f"cannot convert {src_dim} ({from_unit}) to {dst_dim} ({to_unit})")
    return value * src_factor / dst_factor


def parse_quantity(text):
    """'12.5 km' -> (12.5, 'km'). The unit is returned canonicalised."""
    m = _QUANTITY.match(text)
    if not m:
        raise ConversionError(f"cannot parse quantity {text!r}")
    unit = canonical(m.group(2))
    if unit not in UNITS and unit not in TEMPERATURE_UNITS:
        raise ConversionError(f"unknown unit {m.group(2)!r}")
    return float(m.group(1)), unit


def convert_text(text, to_unit):
    """'100 C' -> value in to_unit."""
    value, unit = parse_quantity(text)
    return convert(value, unit, to_unit)
