"""Calendar arithmetic helpers (proleptic Gregorian calendar)."""

import datetime as _dt

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year, month):
    if not 1 <= month <= 12:
        raise ValueError(f"month must be in 1..12, got {month}")
    if month == 2 and is_leap(year):
        return 29
    return _DAYS[month - 1]


def month_start(day):
    return day.replace(day=1)


def month_end(day):
    return day.replace(day=days_in_month(day.year, day.month))


def add_months(day, months):
    """Shift by whole months, clamping the day: Jan 31 + 1 month -> Feb 28/29."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return _dt.date(year, month, min(day.day, days_in_month(year, month)))


def week_start(day, first_weekday=0):
    """The first day of the week containing `day` (0 = Monday, 6 = Sunday)."""
    return day - _dt.timedelta(days=(day.weekday() - first_weekday) % 7)


def iso_week_start(year, week):
    """Monday of ISO week `week` of `year`."""
    return _dt.date.fromisocalendar(year, week, 1)
