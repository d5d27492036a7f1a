"""Turning cell values into strings."""

from decimal import ROUND_HALF_UP, Decimal


def _round(value, precision):
    quantum = Decimal(1).scaleb(-precision)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def format_cell(value, column):
    """Format one value for display according to the column kind. None -> ''."""
    if value is None or value == "":
        return ""
    kind = column.kind
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{int(value):d}"
    if kind == "float":
        return f"{_round(value, column.precision):f}"
    if kind == "money":
        amount = _round(value, 2)
        sign = "-" if amount < 0 else ""
        return f"{sign}{abs(amount):,.2f}"
    if kind == "percent":
        return f"{_round(Decimal(str(value)) * 100, column.precision):f}%"
    raise ValueError(f"unknown kind {kind!r}")


def format_row(row, columns):
    return [format_cell(row.get(c.key), c) for c in columns]
