"""Inclusive date ranges."""

from .business import business_days, next_business_day
from .calendar_utils import add_months, days_in_month, is_leap
from .parse import parse_range
from .range import DateRange

__all__ = [
    "DateRange",
    "add_months",
    "business_days",
    "days_in_month",
    "is_leap",
    "next_business_day",
    "parse_range",
]
