"""When does a cron expression fire?"""

import datetime as _dt

from .fields import CronError
from .parser import parse

# Give up when nothing fires within this many years (e.g. "0 0 30 2 *").
SEARCH_YEARS = 8


def cron_weekday(day):
    """Python's weekday() has Monday = 0; cron has Sunday = 0."""
    return (day.weekday() + 1) % 7


def day_matches(expr, day):
    """Does the calendar date `day` satisfy the day-of-month / day-of-week fields?"""
    dom_ok = day.day in expr.days
    dow_ok = cron_weekday(day) in expr.weekdays
    return dom_ok and dow_ok


def matches(expr, when):
    """Does `expr` fire at the minute `when`?"""
    expr = parse(expr)
    return (
        when.minute in expr.minutes
        and when.hour in expr.hours
        and when.month in expr.months
        and day_matches(expr, when.date())
    )


def next_fire(expr, after):
    """The first time strictly after `after` (to the minute) at which `expr` fires."""
    expr = parse(expr)
    t = after.replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
    limit = after + _dt.timedelta(days=366 * SEARCH_YEARS)
    while t <= limit:
        if t.month not in expr.months:
            year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
            t = t.replace(year=year, month=month, day=1, hour=0, minute=0)
            continue
        if not day_matches(expr, t.date()):
            t = (t + _dt.timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if t.hour not in expr.hours:
            t = (t + _dt.timedelta(hours=1)).replace(minute=0)
            continue
        if t.minute not in expr.minutes:
            t += _dt.timedelta(minutes=1)
            continue
        return t
    raise CronError(f"{expr.source!r} does not fire within {SEARCH_YEARS} years")


def previous_fire(expr, before):
    """The last time strictly before `before` at which `expr` fires (minute resolution)."""
    expr = parse(expr)
    t = before.replace(second=0, microsecond=0)
    if t == before:
        t -= _dt.timedelta(minutes=1)
    limit = before - _dt.timedelta(days=366 * SEARCH_YEARS)
    while t >= limit:
        if t.month in expr.months and day_matches(expr, t.date()) and t.hour in expr.hours:
            if t.minute in expr.minutes:
                return t
            t -= _dt.timedelta(minutes=1)
        else:
            t = t.replace(minute=0) - _dt.timedelta(minutes=1)
    raise CronError(f"{expr.source!r} did not fire within {SEARCH_YEARS} years")


def iter_fires(expr, start, count=None):
    """Yield successive fire times after `start` (forever when count is None)."""
    expr = parse(expr)
    t = start
    produced = 0
    while count is None or produced < count:
        t = next_fire(expr, t)
        yield t
        produced += 1
