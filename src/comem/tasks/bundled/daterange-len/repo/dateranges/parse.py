"""Parse textual ranges.

Accepted forms:
    2024-03-01..2024-03-15   explicit start..end (inclusive)
    2024-03-01               a single day
    2024-03                  a whole month
    2024                     a whole year
    2024-W10                 an ISO week (Monday..Sunday)
"""

import datetime as _dt
import re

from .calendar_utils import days_in_month, iso_week_start
from .range import DateRange

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _day(text):
    if not _DAY.match(text):
        raise ValueError(f"expected YYYY-MM-DD, got {text!r}")
    return _dt.date.fromisoformat(text)


def parse_range(text):
    text = text.strip()
    if ".." in text:
        start, _, end = text.partition("..")
        return DateRange(_day(start.strip()), _day(end.strip()))
    m = _WEEK.match(text)
    if m:
        monday = iso_week_start(int(m.group(1)), int(m.group(2)))
        return DateRange(monday, monday + _dt.timedelta(days=6))
    m = _MONTH.match(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        return DateRange(_dt.date(year, month, 1), _dt.date(year, month, days_in_month(year, month)))
    m = _YEAR.match(text)
    if m:
        year = int(m.group(1))
        return DateRange(_dt.date(year, 1, 1), _dt.date(year, 12, 31))
    return DateRange.single(_day(text))
