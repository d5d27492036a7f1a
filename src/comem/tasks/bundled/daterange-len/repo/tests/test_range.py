from datetime import date

import pytest

from dateranges import DateRange


def test_iteration_is_inclusive():
    r = DateRange(date(2024, 1, 30), date(2024, 2, 2))
    assert [d.day for d in r] == [30, 31, 1, 2]
    assert [d.day for d in reversed(r)] == [2, 1, 31, 30]


def test_end_before_start_rejected():
    with pytest.raises(ValueError):
        DateRange(date(2024, 1, 2), date(2024, 1, 1))


def test_contains():
    r = DateRange(date(2024, 1, 1), date(2024, 1, 31))
    assert date(2024, 1, 31) in r
    assert date(2024, 2, 1) not in r
    assert DateRange(date(2024, 1, 5), date(2024, 1, 6)) in r


def test_intersection_and_union():
    a = DateRange(date(2024, 1, 1), date(2024, 1, 10))
    b = DateRange(date(2024, 1, 8), date(2024, 1, 20))
    assert a & b == DateRange(date(2024, 1, 8), date(2024, 1, 10))
    assert a.union(b) == DateRange(date(2024, 1, 1), date(2024, 1, 20))
    assert a.intersection(DateRange(date(2024, 2, 1), date(2024, 2, 2))) is None


def test_union_of_adjacent_ranges():
    a = DateRange(date(2024, 1, 1), date(2024, 1, 10))
    b = DateRange(date(2024, 1, 11), date(2024, 1, 12))
    assert a.union(b) == DateRange(date(2024, 1, 1), date(2024, 1, 12))


def test_split_by_month():
    r = DateRange(date(2024, 1, 20), date(2024, 3, 5))
    assert r.split_by_month() == [
        DateRange(date(2024, 1, 20), date(2024, 1, 31)),
        DateRange(date(2024, 2, 1), date(2024, 2, 29)),
        DateRange(date(2024, 3, 1), date(2024, 3, 5)),
    ]


def test_weeks():
    r = DateRange(date(2024, 3, 6), date(2024, 3, 18))  # Wednesday .. Monday
    assert r.weeks() == [
        DateRange(date(2024, 3, 6), date(2024, 3, 10)),
        DateRange(date(2024, 3, 11), date(2024, 3, 17)),
        DateRange(date(2024, 3, 18), date(2024, 3, 18)),
    ]


def test_shift_by_months_clamps():
    r = DateRange(date(2024, 1, 31), date(2024, 1, 31))
    assert r.shift(months=1) == DateRange(date(2024, 2, 29), date(2024, 2, 29))
