from datetime import date

import pytest

from dateranges import DateRange, parse_range


def test_explicit_range():
    assert parse_range("2024-03-01..2024-03-15") == DateRange(date(2024, 3, 1), date(2024, 3, 15))


def test_month_and_leap_february():
    assert parse_range("2024-02").end == date(2024, 2, 29)
    assert parse_range("2023-02").end == date(2023, 2, 28)


def test_year():
    r = parse_range("2023")
    assert (r.start, r.end) == (date(2023, 1, 1), date(2023, 12, 31))


def test_iso_week():
    r = parse_range("2024-W01")
    assert (r.start, r.end) == (date(2024, 1, 1), date(2024, 1, 7))


def test_single_day():
    assert parse_range("2024-05-17") == DateRange.single(date(2024, 5, 17))


@pytest.mark.parametrize("bad", ["2024-13", "2024-1-1", "yesterday", "2024-03-10..2024-03-01"])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        parse_range(bad)
