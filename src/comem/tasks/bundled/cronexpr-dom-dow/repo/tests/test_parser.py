import pytest

from cronlite import CronError, parse
from cronlite.fields import DAY_OF_WEEK, MINUTE, MONTH
from cronlite.parser import parse_field


def test_star_and_steps():
    assert parse_field("*/15", MINUTE) == {0, 15, 30, 45}
    assert parse_field("0-30/10", MINUTE) == {0, 10, 20, 30}
    assert parse_field("50/5", MINUTE) == {50, 55}


def test_lists_ranges_names():
    assert parse_field("1,15,20-22", MINUTE) == {1, 15, 20, 21, 22}
    assert parse_field("JAN,mar-May", MONTH) == {1, 3, 4, 5}
    assert parse_field("MON-FRI", DAY_OF_WEEK) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    "text",
    ["60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "* * * *", "x * * * *", "1,,2 * * * *"],
)
def test_invalid(text):
    with pytest.raises(CronError):
        parse(text)


def test_aliases():
    daily = parse("@daily")
    assert (daily.minutes, daily.hours, daily.days, daily.weekdays) == ({0}, {0}, set(range(1, 32)), set(range(7)))
    assert daily.source == "@daily"
    assert parse("@weekly").weekdays == {0}
    with pytest.raises(CronError):
        parse("@fortnightly")


def test_star_flags():
    expr = parse("0 0 */2 * MON")
    assert expr.dom_any and not expr.dow_any
