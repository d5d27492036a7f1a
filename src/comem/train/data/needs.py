"""Does a record's next action need what only the summarised outputs said?

A memory earns its reward where the agent's next action uses something it could only have read in an old output:
a line number from a listing, a name printed by a test run, a path found by a search. Where the action's names
all stand in the task, the system prompt, the agent's own earlier calls or the raw window, any memory (or none,
under `keep_calls`) lets the agent act alike, and the action-consistency reward cannot rank memories there
(docs/results.md §9.10). `output_only_names` lists the names of the reference action's arguments (words of at
least 4 identifier or path characters starting with a letter or `_`, and numbers of 2 digits or more) that occur
in a covered step's output and in none of those other places.

`needed_kept` scores a context against them: the share of those names the agent's context shows. No other part of
the context holds them, so the share is what the memory kept of what the next action needs (0 for no memory, 1
for the full history); it needs no agent, so it separates memories where the agent's own choices are too noisy to.
"""

from __future__ import annotations

import json
import re

from comem.train.data.records import GrpoRecord

_NAME = re.compile(r"[A-Za-z_][\w./-]{3,}|(?<![\w.])\d{2,}(?![\w.])")


def _names(text: str) -> set[str]:
    return set(_NAME.findall(text))


def output_only_names(record: GrpoRecord) -> list[str]:
    """The reference action's names that only the covered steps' outputs hold (see the module docstring)."""
    history = record.history_steps()
    covered, raw = history[:record.covered], history[record.covered:]
    seen = _names(record.system_prompt) | _names(record.task_prompt)
    seen |= {n for s in covered for n in _names(s.turn_text)}
    seen |= {n for s in raw for n in _names(s.turn_text + "\n" + s.observation)}
    in_outputs = {n for s in covered for n in _names(s.observation)}
    wanted = _names(json.dumps(record.reference().arguments, ensure_ascii=False))
    return sorted(wanted & in_outputs - seen)


def needed_kept(record: GrpoRecord, context: str) -> float | None:
    """The share of `output_only_names(record)` that `context` (the agent's messages, joined) contains; None when
    the record needs none."""
    needed = output_only_names(record)
    return sum(name in context for name in needed) / len(needed) if needed else None
