import pytest

from pennies import Money, format_money, parse_money


def test_format_usd():
    assert format_money(Money("1234.5", "USD")) == "$1,234.50"
    assert format_money(Money("-3", "EUR")) == "-€3.00"
    assert format_money(Money("12", "CHF")) == "CHF 12.00"


def test_format_options():
    assert format_money(Money("1234.5", "USD"), symbol=False) == "1,234.50 USD"
    assert format_money(Money("1234.5", "USD"), grouping=False) == "$1234.50"


def test_parse():
    assert parse_money("$1,234.50") == Money("1234.50", "USD")
    assert parse_money("12 EUR") == Money("12", "EUR")
    assert parse_money("-£3") == Money("-3", "GBP")
    assert parse_money("7.5", currency="USD") == Money("7.50", "USD")


@pytest.mark.parametrize("bad", ["$", "12", "$1.2.3", "abc"])
def test_parse_errors(bad):
    with pytest.raises(ValueError):
        parse_money(bad)
