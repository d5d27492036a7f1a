"""The DateRange type. Both `start` and `end` are part of the range."""

import datetime as _dt

from .calendar_utils import add_months, month_end, week_start

ONE_DAY = _dt.timedelta(days=1)


class DateRange:
    """An inclusive range of dates, start <= end.

    >>> r = DateRange(date(2024, 1, 30), date(2024, 2, 2))
    >>> [d.day for d in r]
    [30, 31, 1, 2]
    """

    __slots__ = ("start", "end")

    def __init__(self, start, end):
        if isinstance(start, _dt.datetime) or isinstance(end, _dt.datetime):
            raise TypeError("DateRange takes dates, not datetimes")
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        self.start = start
        self.end = end

    @classmethod
    def single(cls, day):
        return cls(day, day)

    def __repr__(self):
        return f"DateRange({self.start.isoformat()}, {self.end.isoformat()})"

    def __eq__(self, other):
        if not isinstance(other, DateRange):
            return NotImplemented
        return (self.start, self.end) == (other.start, other.end)

    def __hash__(self):
        return hash((self.start, self.end))

    def __iter__(self):
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY

    def __reversed__(self):
        day = self.end
        while day >= self.start:
            yield day
            day -= ONE_DAY

    def __len__(self):
        """Number of days in the range."""
        return (self.end - self.start).days

    def __contains__(self, day):
        if isinstance(day, DateRange):
            return self.start <= day.start and day.end <= self.end
        return self.start <= day <= self.end

    # -- set-like operations ----------------------------------------------------------

    def overlaps(self, other):
        return self.start <= other.end and other.start <= self.end

    def intersection(self, other):
        """The common part of two ranges, or None when they do not overlap."""
        if not self.overlaps(other):
            return None
        return DateRange(max(self.start, other.start), min(self.end, other.end))

    __and__ = intersection

    def union(self, other):
        """Merge two overlapping or adjacent ranges."""
        if not (self.overlaps(other) or self.end + ONE_DAY == other.start or other.end + ONE_DAY == self.start):
            raise ValueError(f"{self} and {other} neither overlap nor touch")
        return DateRange(min(self.start, other.start), max(self.end, other.end))

    def shift(self, days=0, months=0):
        if months:
            return DateRange(add_months(self.start, months), add_months(self.end, months))
        delta = _dt.timedelta(days=days)
        return DateRange(self.start + delta, self.end + delta)

    # -- splitting ----------------------------------------------------------------------

    def split_by_month(self):
        """Sub-ranges cut at month boundaries."""
        parts = []
        start = self.start
        while start <= self.end:
            end = min(month_end(start), self.end)
            parts.append(DateRange(start, end))
            start = end + ONE_DAY
        return parts

    def weeks(self, first_weekday=0):
        """Sub-ranges cut at week boundaries (first_weekday: 0 = Monday)."""
        parts = []
        start = self.start
        while start <= self.end:
            end = min(week_start(start, first_weekday) + _dt.timedelta(days=6), self.end)
            parts.append(DateRange(start, end))
            start = end + ONE_DAY
        return parts
