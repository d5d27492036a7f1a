from decimal import Decimal

import pytest

from pennies import ExchangeRates, MissingRate, Money


@pytest.fixture
def rates():
    return ExchangeRates({("USD", "EUR"): "0.92", ("USD", "GBP"): "0.79"})


def test_direct_and_inverse(rates):
    assert rates.convert(Money("100", "USD"), "EUR") == Money("92", "EUR")
    assert rates.rate("EUR", "USD") == Decimal(1) / Decimal("0.92")


def test_cross_rate_through_base(rates):
    assert rates.convert(Money("92", "EUR"), "GBP") == Money("79", "GBP")


def test_missing_rate(rates):
    with pytest.raises(MissingRate):
        rates.convert(Money(1, "EUR"), "CHF")


def test_rates_must_be_positive():
    with pytest.raises(ValueError):
        ExchangeRates({("USD", "EUR"): "0"})
