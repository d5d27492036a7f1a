from datetime import datetime

import pytest

from cronlite import CronError, iter_fires, matches, next_fire, parse, previous_fire


def test_matches_simple():
    assert matches("30 8 * * *", datetime(2024, 7, 1, 8, 30))
    assert not matches("30 8 * * *", datetime(2024, 7, 1, 8, 31))


def test_weekday_range_skips_weekend():
    assert next_fire(parse("30 8 * * MON-FRI"), datetime(2024, 7, 6, 12, 0)) == datetime(2024, 7, 8, 8, 30)


def test_every_15_minutes():
    fires = list(iter_fires("*/15 * * * *", datetime(2024, 1, 1, 10, 7), count=3))
    assert fires == [datetime(2024, 1, 1, 10, 15), datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 1, 10, 45)]


def test_day_of_month_only():
    assert next_fire("0 0 13 * *", datetime(2024, 7, 14)) == datetime(2024, 8, 13)


def test_month_rollover_and_leap_day():
    assert next_fire("0 0 29 2 *", datetime(2023, 3, 1)) == datetime(2024, 2, 29)
    assert next_fire("@yearly", datetime(2024, 12, 31, 23, 59)) == datetime(2025, 1, 1)


def test_sunday_is_zero():
    assert matches("0 0 * * SUN", datetime(2024, 7, 7))
    assert next_fire("@weekly", datetime(2024, 7, 1)) == datetime(2024, 7, 7)


def test_never_fires():
    with pytest.raises(CronError):
        next_fire("0 0 30 2 *", datetime(2024, 1, 1))


def test_previous_fire():
    assert previous_fire("0 12 * * *", datetime(2024, 7, 2, 11, 0)) == datetime(2024, 7, 1, 12, 0)
    assert previous_fire("*/10 * * * *", datetime(2024, 7, 2, 11, 20)) == datetime(2024, 7, 2, 11, 10)
