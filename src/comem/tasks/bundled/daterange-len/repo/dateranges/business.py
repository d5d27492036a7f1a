"""Business-day helpers. Weekends are Saturday and Sunday."""

import datetime as _dt

WEEKEND = (5, 6)


def is_business_day(day, holidays=()):
    return day.weekday() not in WEEKEND and day not in set(holidays)


def business_days(date_range, holidays=()):
    """Count the business days in an inclusive DateRange."""
    holidays = set(holidays)
    return sum(1 for day in date_range if day.weekday() not in WEEKEND and day not in holidays)


def next_business_day(day, holidays=()):
    """The first business day strictly after `day`."""
    holidays = set(holidays)
    day += _dt.timedelta(days=1)
    while day.weekday() in WEEKEND or day in holidays:
        day += _dt.timedelta(days=1)
    return day


def add_business_days(day, count, holidays=()):
    for _ in range(count):
        day = next_business_day(day, holidays)
    return day
