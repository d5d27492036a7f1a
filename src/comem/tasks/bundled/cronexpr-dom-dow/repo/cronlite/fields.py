"""The five cron fields and their allowed values."""

from dataclasses import dataclass, field


class CronError(ValueError):
    """An invalid cron expression."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: dict = field(default_factory=dict)  # e.g. {"JAN": 1}

    def value(self, token):
        """A single number or name -> int, range-checked."""
        upper = token.upper()
        if upper in self.names:
            return self.names[upper]
        if not token.isdigit():
            raise CronError(f"{self.name}: {token!r} is not a number")
        number = int(token)
        if not self.low <= number <= self.high:
            raise CronError(f"{self.name}: {number} is out of range {self.low}-{self.high}")
        return number


MONTH_NAMES = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
DAY_NAMES = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}

MINUTE = FieldSpec("minute", 0, 59)
HOUR = FieldSpec("hour", 0, 23)
DAY_OF_MONTH = FieldSpec("day of month", 1, 31)
MONTH = FieldSpec("month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = FieldSpec("day of week", 0, 6, DAY_NAMES)

FIELDS = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)
