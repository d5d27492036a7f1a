"""Summaries read off the covered steps, no model involved: extra candidates for reward-filtered SFT data.

A small teacher's samples are often worse than what a deterministic view of the same steps tells the agent
(docs/results.md §9): `comem train data sft --extractive ledger,recent` puts these views beside the teacher's
summaries, the frozen agent scores them all alike, and the best becomes the target. The student then learns
whichever kind of summary kept the agent on course, record by record. Each view fits `view_budget(max_tokens)`
by the byte estimate, since the student is later held to `max_tokens` real tokens.
"""

from __future__ import annotations

from collections.abc import Callable

from comem.context.base import view_budget
from comem.context.ledger import ledger_text
from comem.context.recent import recent_text
from comem.train.data.records import GrpoRecord


def ledger_view(record: GrpoRecord, max_tokens: int) -> str:
    """The ledger of the covered steps (files, commands, errors, names) in the summary's budget."""
    return ledger_text(record.history_steps()[:record.covered], record.task_prompt, view_budget(max_tokens))


def recent_view(record: GrpoRecord, max_tokens: int) -> str:
    """The newest covered steps, each as its tool call and the first line of its result (context/recent.py)."""
    return recent_text(record.history_steps()[:record.covered], view_budget(max_tokens))


VIEWS: dict[str, Callable[[GrpoRecord, int], str]] = {"ledger": ledger_view, "recent": recent_view}
