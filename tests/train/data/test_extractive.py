"""The extractive views offered beside a teacher's summaries: read off the covered steps, inside the budget."""

from __future__ import annotations

import json

import pytest

from comem.context.base import estimate_tokens
from comem.core.records import Step, ToolCall
from comem.train.data.extractive import MARGIN, VIEWS, ledger_view, recent_view
from comem.train.data.records import ChatTurn, GrpoRecord


def record(steps: list[Step], covered: int) -> GrpoRecord:
    return GrpoRecord(record_id=f"t:{covered}", task_id="t", source="test", target_step=covered, retain=0,
                      covered=covered, prompt=[ChatTurn(role="user", content="summarise")], system_prompt="sys",
                      task_prompt="Fix `divide` in calc/ops.py.", raw_steps="[]",
                      last_observation=steps[covered - 1].observation,
                      reference_action=ToolCall(name="submit", arguments={}).model_dump_json(), variant="swe",
                      history=json.dumps([s.model_dump(mode="json") for s in steps[:covered]]))


def step(i: int, name: str, arguments: dict[str, object], observation: str) -> Step:
    return Step(index=i, thought="", response="", action=ToolCall(name=name, arguments=arguments),
                observation=observation)


STEPS = [
    step(0, "bash", {"command": "python -c 'import calc; print(calc.divide(7, 2))'"},
         "Exit code: 1\nExecution output of [bash]:\nTraceback (most recent call last):\n  File \"<string>\", line 1\n"
         "ZeroDivisionError: division by zero\n\n[You already ran this exact action and got this same output.]"),
    step(1, "search", {"search_term": "divide"}, "Execution output of [search]:\nFound 2 matches for 'divide' in .:\n"
         "calc/ops.py:3: def divide(a, b):"),
    step(2, "file_editor", {"command": "str_replace", "path": "calc/ops.py", "old_str": "return a / b",
                            "new_str": "return a // b  # " + "x" * 200},
         "Execution output of [file_editor]:\nThe file calc/ops.py has been edited."),
    step(3, "bash", {"command": "python -m pytest -q"}, "Exit code: 0\nExecution output of [bash]:\n3 passed in 0.1s"),
]


def test_recent_shows_calls_and_first_result_lines_newest_last() -> None:
    text = recent_view(record(STEPS, 4), 512)
    lines = text.splitlines()
    assert lines[0] == "Last steps (newest last):" and [line.split(":")[0] for line in lines[1:]] == \
        ["step 1", "step 2", "step 3", "step 4"]
    assert lines[1].endswith("-> exit 1: ZeroDivisionError: division by zero")  # a traceback's last line, not the note
    assert lines[2].endswith("-> Found 2 matches for 'divide' in .:")
    assert '"new_str": "return a // b  # xxx' in lines[3] and "x" * 60 not in lines[3]  # long arguments clipped
    assert lines[4].endswith("-> 3 passed in 0.1s")  # exit 0 is not worth saying


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("max_tokens", [32, 64, 128])
def test_views_fit_the_budget_with_the_margin(view: str, max_tokens: int) -> None:
    assert estimate_tokens(VIEWS[view](record(STEPS, 4), max_tokens)) <= max_tokens * MARGIN + 1


def test_recent_drops_the_oldest_steps_first_and_sees_only_covered_steps() -> None:
    short = recent_view(record(STEPS, 4), 64).splitlines()
    assert short[-1].startswith("step 4:") and len(short) < 5
    assert recent_view(record(STEPS, 2), 512).splitlines()[-1].startswith("step 2:")  # step 3 is not covered


def test_ledger_view_is_the_ledger_of_the_covered_steps() -> None:
    text = ledger_view(record(STEPS, 4), 256)
    assert "calc/ops.py" in text and "ZeroDivisionError: division by zero" in text
    assert "pytest" in text and "pytest" not in ledger_view(record(STEPS, 3), 256)
