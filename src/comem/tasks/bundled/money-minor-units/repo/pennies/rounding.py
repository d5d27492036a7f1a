"""Converting inputs to Decimal and rounding them to a currency."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


def to_decimal(value):
    """int, str or Decimal -> Decimal. Floats are refused: they cannot represent cents exactly."""
    if isinstance(value, bool):
        raise TypeError("booleans are not amounts")
    if isinstance(value, float):
        raise TypeError(f"use a string or Decimal instead of the float {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value.strip().replace("_", "") if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"cannot make an amount from {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    return result


def quantize(amount, currency, rounding=ROUND_HALF_EVEN):
    """Round `amount` to the currency's minor unit (banker's rounding by default)."""
    return amount.quantize(Decimal("0.01"), rounding=rounding)
