"""pennies: exact money arithmetic."""

from .currency import CURRENCIES, Currency, UnknownCurrency, get_currency
from .exchange import ExchangeRates, MissingRate
from .formatting import format_money, parse_money
from .money import CurrencyMismatch, Money, sum_money

__all__ = [
    "CURRENCIES",
    "Currency",
    "CurrencyMismatch",
    "ExchangeRates",
    "MissingRate",
    "Money",
    "UnknownCurrency",
    "format_money",
    "get_currency",
    "parse_money",
    "sum_money",
]
