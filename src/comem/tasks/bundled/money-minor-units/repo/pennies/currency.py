"""ISO 4217 currencies known to pennies."""

from dataclasses import dataclass


class UnknownCurrency(KeyError):
    def __str__(self):
        return f"unknown currency {self.args[0]!r}"


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int  # number of digits after the decimal point (minor units)
    symbol: str
    name: str

    def __str__(self):
        return self.code


CURRENCIES = {
    c.code: c
    for c in [
        Currency("USD", 2, "$", "US Dollar"),
        Currency("EUR", 2, "€", "Euro"),
        Currency("GBP", 2, "£", "Pound Sterling"),
        Currency("CHF", 2, "CHF", "Swiss Franc"),
        Currency("JPY", 0, "¥", "Yen"),
        Currency("KRW", 0, "₩", "Won"),
        Currency("KWD", 3, "KD", "Kuwaiti Dinar"),
        Currency("BHD", 3, "BD", "Bahraini Dinar"),
    ]
}


def get_currency(code):
    """Look up a currency by code (case-insensitive); Currency objects pass through."""
    if isinstance(code, Currency):
        return code
    try:
        return CURRENCIES[code.upper()]
    except (KeyError, AttributeError):
        raise UnknownCurrency(code) from None
