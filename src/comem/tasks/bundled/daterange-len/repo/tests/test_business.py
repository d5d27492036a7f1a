from datetime import date

from dateranges import business_days, next_business_day, parse_range
from dateranges.business import add_business_days


def test_business_days_in_a_week():
    assert business_days(parse_range("2024-03-01..2024-03-08")) == 6


def test_business_days_with_holiday():
    assert business_days(parse_range("2024-12-23..2024-12-27"), holidays=[date(2024, 12, 25)]) == 4


def test_next_business_day_skips_weekend():
    assert next_business_day(date(2024, 3, 8)) == date(2024, 3, 11)


def test_add_business_days():
    assert add_business_days(date(2024, 3, 7), 3) == date(2024, 3, 12)
