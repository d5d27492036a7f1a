"""The newest steps in a line each (context/recent.py): calls, first result lines, newest last, in the budget."""

from __future__ import annotations

from comem.context.base import estimate_tokens
from comem.context.recent import HEAD, recent_text
from tests.context.helpers import RECENT_STEPS as STEPS


def test_calls_and_first_result_lines_newest_last() -> None:
    lines = recent_text(STEPS, 512).splitlines()
    assert lines[0] + "\n" == HEAD and [line.split('"')[3] for line in lines[1:5]] == \
        [step.action.name for step in STEPS[:4]]  # oldest first
    assert all(line.startswith("- ") for line in lines[1:])
    assert lines[1].endswith("-> exit 1: ZeroDivisionError: division by zero")  # a traceback's last line, not the note
    assert lines[2].endswith("-> Found 2 matches for 'divide' in .:")
    assert '"new_str": "return a // b  # xxx' in lines[3] and "x" * 60 not in lines[3]  # long arguments clipped
    assert lines[4].endswith("-> 3 passed in 0.1s")  # exit 0 is not worth saying
    assert lines[5] == "- no valid tool call -> (no output)"


def test_the_oldest_steps_go_first_and_the_budget_holds() -> None:
    for budget in (16, 40, 64, 128):
        text = recent_text(STEPS, budget)
        assert estimate_tokens(text) <= budget + 1
    short = recent_text(STEPS, 64).splitlines()
    assert short[-1] == "- no valid tool call -> (no output)" and len(short) < 6  # the newest step stays
    assert recent_text(STEPS[:2], 512).splitlines()[1:] == recent_text(STEPS, 512).splitlines()[1:3]
