"""The newest steps in a line each (context/recent.py): calls, first result lines, newest last, in the budget."""

from __future__ import annotations

from comem.context.base import estimate_tokens, view_budget
from comem.context.policies import policy_messages
from comem.context.recent import HEAD, recent_text
from tests.context.helpers import PINNED, build, drive, make_step, raw_steps
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


def test_a_recent_arm_shows_the_view_eval_memory_scores() -> None:
    """`memory_view: recent` live: installed on kso's schedule with no memory model and no wait, and at every
    step exactly the context `comem eval-memory` scores as its `recent` condition for that history."""
    strategy, records = build("kso", None, k=2, memory_view="recent", memory_max_tokens=64)
    seen = drive(strategy, 9)
    steps = [make_step(i) for i in range(9)]
    installed = [(n, ctx) for n, ctx in enumerate(seen) if ctx.summary_id is not None]
    assert installed and all(r.status == "ok" and r.view == "recent" and r.summary.startswith(HEAD) for r in records)
    for n, ctx in installed:
        covered = ctx.raw_from
        assert ctx.messages == policy_messages("recent", PINNED, steps[:n], steps[covered:n], truncate_tokens=0,
                                               recent_tokens=view_budget(64))
        assert f'"echo {covered - 1}"' in ctx.messages[1].content  # the newest covered step, a line
        assert raw_steps(ctx) == list(range(covered, n))
    assert all(ctx.memory_wait_s == 0.0 for ctx in seen)
