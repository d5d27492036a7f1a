"""What a summary kept and lost: the identifiers of the steps it replaced, each marked kept or lost by the
report's retention rules (`comem.report.retention`), so a page shows at a glance what the memory dropped."""

from __future__ import annotations

from dataclasses import dataclass

from comem.context.memory import MemorySettings
from comem.core.records import MemoryRecord, Step
from comem.report.retention import CATEGORIES, extract, is_retained


@dataclass(frozen=True)
class Mark:
    category: str
    identifier: str
    kept: bool


def obs_chars(strategy: dict) -> int:
    """How much of each observation the memory model saw (the run's setting, else the default)."""
    return int(strategy.get("memory_obs_chars") or MemorySettings().memory_obs_chars)


def summary_marks(record: MemoryRecord, steps: list[Step], chars: int) -> list[Mark]:
    """Every identifier of the steps `record` covers, by category, kept or lost in its summary."""
    span = [s for s in steps if record.covers[0] <= s.index < record.covers[1]]
    found = extract(span, chars)
    return [Mark(c, i, is_retained(c, i, record.summary)) for c in CATEGORIES for i in sorted(found[c])]
