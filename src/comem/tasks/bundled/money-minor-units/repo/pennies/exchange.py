"""Currency conversion with a table of exchange rates."""

from decimal import Decimal

from .currency import get_currency
from .money import Money
from .rounding import to_decimal


class MissingRate(LookupError):
    pass


class ExchangeRates:
    """Rates are stored per direction; the inverse direction is derived when missing, and
    a pair with no rate is converted through `base` when both legs are known."""

    def __init__(self, rates=None, base="USD"):
        self.base = get_currency(base).code
        self._rates = {}
        for (src, dst), rate in (rates or {}).items():
            self.add(src, dst, rate)

    def add(self, src, dst, rate):
        rate = to_decimal(rate)
        if rate <= 0:
            raise ValueError("rates must be positive")
        self._rates[(get_currency(src).code, get_currency(dst).code)] = rate

    def _direct(self, src, dst):
        if src == dst:
            return Decimal(1)
        if (src, dst) in self._rates:
            return self._rates[(src, dst)]
        if (dst, src) in self._rates:
            return Decimal(1) / self._rates[(dst, src)]
        return None

    def rate(self, src, dst):
        src, dst = get_currency(src).code, get_currency(dst).code
        rate = self._direct(src, dst)
        if rate is None:
            first, second = self._direct(src, self.base), self._direct(self.base, dst)
            if first is None or second is None:
                raise MissingRate(f"no rate from {src} to {dst}")
            rate = first * second
        return rate

    def convert(self, money, to):
        """Convert Money to another currency, rounded to that currency's minor unit."""
        target = get_currency(to)
        return Money(money.amount * self.rate(money.currency, target), target)
