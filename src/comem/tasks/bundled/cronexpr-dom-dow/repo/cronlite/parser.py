"""Parse cron expressions into sets of allowed values."""

from dataclasses import dataclass

from .aliases import expand_alias
from .fields import DAY_OF_MONTH, DAY_OF_WEEK, FIELDS, HOUR, MINUTE, MONTH, CronError


def parse_field(text, spec):
    """'1-10/3,20' -> {1, 4, 7, 10, 20} for the given field spec."""
    values = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{spec.name}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{spec.name}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = spec.value(first), spec.value(last)
            if low > high:
                raise CronError(f"{spec.name}: range {base!r} goes backwards")
        else:
            low = spec.value(base)
            high = spec.high if step_text else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpr:
    minutes: frozenset
    hours: frozenset
    days: frozenset  # days of month
    months: frozenset
    weekdays: frozenset  # 0 = Sunday
    dom_any: bool  # the day-of-month field starts with '*'
    dow_any: bool  # the day-of-week field starts with '*'
    source: str = ""

    def __str__(self):
        return self.source


def parse(text):
    """Parse a five-field cron expression or an @alias into a CronExpr."""
    if isinstance(text, CronExpr):
        return text
    source = text.strip()
    fields = expand_alias(source).split()
    if len(fields) != len(FIELDS):
        raise CronError(f"expected {len(FIELDS)} fields, got {len(fields)} in {source!r}")
    minute, hour, dom, month, dow = fields
    return CronExpr(
        minutes=parse_field(minute, MINUTE),
        hours=parse_field(hour, HOUR),
        days=parse_field(dom, DAY_OF_MONTH),
        months=parse_field(month, MONTH),
        weekdays=parse_field(dow, DAY_OF_WEEK),
        dom_any=dom.startswith("*"),
        dow_any=dow.startswith("*"),
        source=source,
    )
