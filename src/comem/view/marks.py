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


def _kept(category: str, identifier: str, summary: str) -> bool:
    """`is_retained`, skipped when none of the tokens it looks for (the identifier, its file name, its last
    `::` or `.` part) is even a substring of the summary: the regex search is the slow part on long spans."""
    tokens = (identifier, identifier.rsplit("/", 1)[-1], identifier.rsplit("::", 1)[-1], identifier.rsplit(".", 1)[-1])
    return any(t in summary for t in tokens) and is_retained(category, identifier, summary)


class Marker:
    """Marks for the summaries of one episode. A span's identifiers are the union of its steps' (`extract` is a
    union over steps), so each step is read once however many from-scratch summaries cover it."""

    def __init__(self, steps: list[Step], chars: int) -> None:
        self.steps, self.chars = steps, chars
        self._found: dict[int, dict[str, set[str]]] = {}

    def _of(self, step: Step) -> dict[str, set[str]]:
        if step.index not in self._found:
            self._found[step.index] = extract([step], self.chars)
        return self._found[step.index]

    def marks(self, record: MemoryRecord) -> list[Mark]:
        """Every identifier of the steps `record` covers, by category, kept or lost in its summary."""
        found: dict[str, set[str]] = {c: set() for c in CATEGORIES}
        for step in self.steps:
            if record.covers[0] <= step.index < record.covers[1]:
                for c, ids in self._of(step).items():
                    found[c] |= ids
        return [Mark(c, i, _kept(c, i, record.summary)) for c in CATEGORIES for i in sorted(found[c])]


def summary_marks(record: MemoryRecord, steps: list[Step], chars: int) -> list[Mark]:
    return Marker(steps, chars).marks(record)
