"""Display and parsing of money amounts."""

import re

from .currency import CURRENCIES, get_currency
from .money import Money

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def format_money(money, symbol=True, grouping=True):
    """Money('1234.5', 'USD') -> '$1,234.50'; negative amounts get a leading '-'.

    Alphabetic symbols are separated by a space: 'CHF 12.00'. With symbol=False the
    currency code is appended instead: '1,234.50 USD'.
    """
    amount = money.amount
    sign = "-" if amount < 0 else ""
    number = f"{abs(amount):{',' if grouping else ''}.2f}"
    if not symbol:
        return f"{sign}{number} {money.currency.code}"
    sym = money.currency.symbol
    if sym.isalpha():
        return f"{sign}{sym} {number}"
    return f"{sign}{sym}{number}"


def _match_symbol(text):
    """Find the currency whose symbol or code prefixes/suffixes `text`; longest match wins."""
    candidates = []
    for currency in CURRENCIES.values():
        for token in (currency.symbol, currency.code):
            if text.startswith(token) or text.endswith(token):
                candidates.append((len(token), token, currency))
    if not candidates:
        return None, text
    _, token, currency = max(candidates, key=lambda c: c[0])
    stripped = text[len(token):] if text.startswith(token) else text[: -len(token)]
    return currency, stripped.strip()


def parse_money(text, currency=None):
    """'$1,234.50' -> Money('1234.50', 'USD'); '12 EUR' -> Money('12.00', 'EUR').

    `currency` is required when the text has no symbol or code.
    """
    text = text.strip()
    negative = text.startswith("-")
    if negative:
        text = text[1:].strip()
    found, rest = _match_symbol(text)
    if found is None:
        if currency is None:
            raise ValueError(f"no currency in {text!r}; pass currency=")
        found = get_currency(currency)
    rest = rest.replace(",", "")
    if not _NUMBER.match(rest):
        raise ValueError(f"cannot parse amount {text!r}")
    return Money(("-" if negative else "") + rest, found)
