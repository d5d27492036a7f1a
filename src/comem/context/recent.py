"""The newest steps in a line each: a memory that needs no model, and a candidate summary for training data.

With `retain 0` the agent sees the memory and the last observation, not the call that produced it, so what it
most needs from a summary is what it just did. `recent_text` lists the newest steps, newest last, as
`- <the tool call as JSON, string arguments clipped> -> <the first line of the result>` (a non-zero exit code in
front; for a traceback its last line, the error; the loop's own `[...]` notes skipped), as many as fit the token
budget (estimated). Lines carry no step numbers: the memory model's input does not number steps (docs/method.md
§2), and a model trained to write this view should find every part of it in what it reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from comem.context.base import estimate_tokens
from comem.core.records import Step

HEAD = "Last steps (newest last):\n"
_RESULT_CHARS = 120
_ARGUMENT_CHARS = 60  # a long new_str or command: its start says which it was
_EXIT = re.compile(r"Exit code: (-?\d+)")
_NOTE = re.compile(r"\[.*\]")


def recent_text(steps: Sequence[Step], budget_tokens: int) -> str:
    """The newest of `steps` that fit `budget_tokens` (estimated), oldest first; the head alone if none fits."""
    lines: list[str] = []
    budget = budget_tokens - estimate_tokens(HEAD)
    for step in reversed(steps):
        line = step_line(step)
        if estimate_tokens(line + "\n") > budget:
            break
        lines.insert(0, line)
        budget -= estimate_tokens(line + "\n")
    return HEAD + "\n".join(lines)


def step_line(step: Step) -> str:
    if step.action is None:
        call = "no valid tool call"
    else:
        arguments = {k: _clip(v, _ARGUMENT_CHARS) if isinstance(v, str) else v
                     for k, v in step.action.arguments.items()}
        call = json.dumps({"name": step.action.name, "arguments": arguments}, ensure_ascii=False)
    return f"- {call} -> {first_result_line(step.observation)}"


def first_result_line(observation: str) -> str:
    """What a result says first: past the `Execution output of [tool]:` header, a non-zero exit code kept in
    front; for a traceback its last line, the error. The loop's own notes (`[You already ran ...]`) are not
    the result."""
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
