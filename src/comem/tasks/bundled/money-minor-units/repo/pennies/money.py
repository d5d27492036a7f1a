"""The Money value type."""

from decimal import Decimal
from functools import total_ordering

from .currency import get_currency
from .rounding import quantize, to_decimal


class CurrencyMismatch(ValueError):
    def __init__(self, a, b):
        super().__init__(f"cannot combine {a.code} and {b.code}")


@total_ordering
class Money:
    __slots__ = ("amount", "currency")

    def __init__(self, amount, currency):
        currency = get_currency(currency)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "amount", quantize(to_decimal(amount), currency))

    def __setattr__(self, name, value):
        raise AttributeError("Money is immutable")

    @classmethod
    def zero(cls, currency):
        return cls(0, currency)

    @classmethod
    def from_minor_units(cls, units, currency):
        """Money.from_minor_units(1999, "USD") -> Money('19.99', 'USD')."""
        currency = get_currency(currency)
        return cls(Decimal(int(units)) / 100, currency)

    def to_minor_units(self):
        """Money('19.99', 'USD').to_minor_units() -> 1999."""
        return int((self.amount * 100).to_integral_value())

    def __repr__(self):
        return f"Money('{self.amount}', '{self.currency.code}')"

    def __str__(self):
        return f"{self.amount} {self.currency.code}"

    # -- comparison -------------------------------------------------------------------

    def _check(self, other):
        if not isinstance(other, Money):
            raise TypeError(f"expected Money, got {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __lt__(self, other):
        self._check(other)
        return self.amount < other.amount

    def __hash__(self):
        return hash((self.amount, self.currency.code))

    def __bool__(self):
        return bool(self.amount)

    # -- arithmetic -------------------------------------------------------------------

    def __add__(self, other):
        if other == 0:  # so that sum() works
            return self
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    __radd__ = __add__

    def __sub__(self, other):
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self):
        return Money(-self.amount, self.currency)

    def __abs__(self):
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor):
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        if isinstance(divisor, Money):
            self._check(divisor)
            return self.amount / divisor.amount
        return Money(self.amount / to_decimal(divisor), self.currency)

    # -- splitting --------------------------------------------------------------------

    def allocate(self, ratios):
        """Split into parts proportional to `ratios` without losing a minor unit.
        Leftover minor units go to the first parts."""
        ratios = [to_decimal(r) for r in ratios]
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("ratios must be non-negative and not all zero")
        total = self.to_minor_units()
        sign = -1 if total < 0 else 1
        total = abs(total)
        whole = sum(ratios)
        shares = [int(total * r // whole) for r in ratios]
        for i in range(total - sum(shares)):
            shares[i % len(shares)] += 1
        return [Money.from_minor_units(sign * s, self.currency) for s in shares]

    def split(self, n):
        """Split into n parts as equal as possible."""
        if n <= 0:
            raise ValueError("n must be positive")
        return self.allocate([1] * n)


def sum_money(items, currency=None):
    """Sum Money objects; an empty sum needs `currency`."""
    items = list(items)
    if not items:
        if currency is None:
            raise ValueError("sum of no Money needs a currency")
        return Money.zero(currency)
    return sum(items[1:], items[0])
