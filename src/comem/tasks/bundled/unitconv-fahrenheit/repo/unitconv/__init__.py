"""Unit conversion."""

from .convert import ConversionError, convert, parse_quantity
from .formatting import format_quantity
from .units import UNITS, dimension_of

__all__ = ["UNITS", "ConversionError", "convert", "dimension_of", "format_quantity", "parse_quantity"]
