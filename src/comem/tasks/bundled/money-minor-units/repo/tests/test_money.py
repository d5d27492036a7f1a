from decimal import Decimal

import pytest

from pennies import CurrencyMismatch, Money, UnknownCurrency, sum_money


def test_construction_rounds_half_even():
    assert Money("2.675", "USD").amount == Decimal("2.68")
    assert Money("2.665", "USD").amount == Decimal("2.66")
    assert repr(Money(5, "eur")) == "Money('5.00', 'EUR')"


def test_floats_refused():
    with pytest.raises(TypeError):
        Money(0.1, "USD")


def test_unknown_currency():
    with pytest.raises(UnknownCurrency):
        Money(1, "XYZ")


def test_arithmetic():
    a, b = Money("10.50", "USD"), Money("0.75", "USD")
    assert a + b == Money("11.25", "USD")
    assert a - b == Money("9.75", "USD")
    assert a * 3 == Money("31.50", "USD")
    assert a / 4 == Money("2.62", "USD")
    assert -a == Money("-10.50", "USD")


def test_currency_mismatch():
    with pytest.raises(CurrencyMismatch):
        Money(1, "USD") + Money(1, "EUR")


def test_allocate_usd():
    parts = Money("100", "USD").allocate([1, 1, 1])
    assert [str(p.amount) for p in parts] == ["33.34", "33.33", "33.33"]
    assert sum_money(parts) == Money("100", "USD")


def test_allocate_ratios_and_negative():
    assert Money("0.05", "EUR").allocate([3, 7]) == [Money("0.02", "EUR"), Money("0.03", "EUR")]
    assert Money("-1", "USD").split(3) == [Money("-0.34", "USD"), Money("-0.33", "USD"), Money("-0.33", "USD")]


def test_minor_units_usd():
    assert Money("19.99", "USD").to_minor_units() == 1999
    assert Money.from_minor_units(1999, "USD") == Money("19.99", "USD")


def test_sum_and_ordering():
    items = [Money("1.10", "GBP"), Money("2.20", "GBP")]
    assert sum_money(items) == Money("3.30", "GBP")
    assert sum_money([], "GBP") == Money(0, "GBP")
    assert max(items) == Money("2.20", "GBP")
