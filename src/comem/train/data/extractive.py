"""Summaries read off the covered steps, no model involved: extra candidates for reward-filtered SFT data.

A small teacher's samples are often worse than what a deterministic view of the same steps tells the agent
(docs/results.md §9): `comem train data sft --extractive ledger,recent` puts these views beside the teacher's
summaries, the frozen agent scores them all alike, and the best becomes the target. The student then learns
whichever kind of summary kept the agent on course, record by record. Each view fits the summary budget by the
byte estimate with a margin, since the student is later held to `max_tokens` real tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from comem.context.base import estimate_tokens
from comem.context.ledger import ledger_text
from comem.core.records import Step
from comem.train.data.records import GrpoRecord

MARGIN = 0.75  # code and JSON run nearer 3 bytes a token than the estimate's 4
_RESULT_CHARS = 120
_NOTE = re.compile(r"\[.*\]")
_ARGUMENT_CHARS = 60  # a long new_str or command: its start says which it was
_EXIT = re.compile(r"Exit code: (-?\d+)")


def ledger_view(record: GrpoRecord, max_tokens: int) -> str:
    """The ledger of the covered steps (files, commands, errors, names) in the summary's budget."""
    return ledger_text(record.history_steps()[:record.covered], record.task_prompt, int(max_tokens * MARGIN))


def recent_view(record: GrpoRecord, max_tokens: int) -> str:
    """The newest covered steps, newest last, each as its tool call and the first line of its result: as many
    as fit the budget."""
    lines: list[str] = []
    budget = int(max_tokens * MARGIN) - estimate_tokens(_HEAD)
    for step in reversed(record.history_steps()[:record.covered]):
        line = _step_line(step)
        if estimate_tokens(line + "\n") > budget:
            break
        lines.insert(0, line)
        budget -= estimate_tokens(line + "\n")
    return _HEAD + "\n".join(lines)


_HEAD = "Last steps (newest last):\n"


def _step_line(step: Step) -> str:
    if step.action is None:
        call = "no valid tool call"
    else:
        arguments = {k: _clip(v, _ARGUMENT_CHARS) if isinstance(v, str) else v
                     for k, v in step.action.arguments.items()}
        call = json.dumps({"name": step.action.name, "arguments": arguments}, ensure_ascii=False)
    return f"step {step.index + 1}: {call} -> {_first_result_line(step.observation)}"


def _first_result_line(observation: str) -> str:
    """What the step's result says first: past the `Execution output of [tool]:` header, a non-zero exit code
    kept in front; for a traceback its last line, the error. The loop's own notes (`[You already ran ...]`) are
    not the result."""
    lines = [t for line in observation.splitlines()
             if (t := line.strip()) and not t.startswith("Execution output of [") and not _NOTE.fullmatch(t)]
    code = _EXIT.fullmatch(lines[0]) if lines else None
    if code:
        lines = lines[1:]
    text = (lines[-1] if lines[0].startswith("Traceback") else lines[0]) if lines else "(no output)"
    text = _clip(text, _RESULT_CHARS)
    return f"exit {code[1]}: {text}" if code and code[1] != "0" else text


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 3] + "..."


VIEWS: dict[str, Callable[[GrpoRecord, int], str]] = {"ledger": ledger_view, "recent": recent_view}
