"""`keep_calls`: the memory stands for the covered steps' outputs while their calls stay as the agent's turns.
The live context at every step, the same context in `comem eval-memory`, and the cached prefix an update keeps."""

from __future__ import annotations

from comem.context.base import view_budget
from comem.context.memory import installed_messages
from comem.context.policies import policy_messages
from tests.context.helpers import PINNED, build, drive, echo_memory, make_step


def test_covered_steps_keep_their_calls_and_the_summary_stands_for_their_outputs() -> None:
    strategy, records = build("kso", echo_memory(), k=2, keep_calls=True)
    seen = drive(strategy, 8)
    steps = [make_step(i) for i in range(8)]
    installed = [(n, ctx) for n, ctx in enumerate(seen) if ctx.summary_id is not None]
    assert installed and all(r.status in ("ok", "superseded") for r in records)  # the last: closed in flight
    for n, ctx in installed:
        L = ctx.raw_from
        assert ctx.messages[1].content == PINNED.task  # the task message is never rewritten
        turns = ctx.messages[2:]
        assert [m.content for m in turns[0::2]] == [f"reply-{i}" for i in range(n)]  # every call, in order
        outputs = [m.content for m in turns[1::2]]
        assert all(o.startswith(f"[Output of step {i + 1} omitted") for i, o in enumerate(outputs[:L]))
        assert f'<memory_summary steps="1-{L}">' in outputs[L - 1]  # the block closes the last covered output
        assert f"summary-of[{','.join(map(str, range(L)))}]" in outputs[L - 1]
        assert outputs[L:] == [f"output-{i}" for i in range(L, n)]  # the raw window, verbatim
        record = next(r for r in records if r.id == ctx.summary_id)
        assert ctx.messages == installed_messages(PINNED, record, steps[:n], keep_calls=True)


def test_an_update_changes_the_prompt_from_the_previous_memory_block_on() -> None:
    """The messages before the previous memory block (the task, every call and placeholder before it) are the same
    before and after an update, so a server's prefix cache keeps them; the paper's framing changes the task
    message (its text stays a prefix: the block is appended)."""
    for keep_calls in (False, True):
        strategy, _ = build("kso", echo_memory(), k=2, keep_calls=keep_calls)
        seen = drive(strategy, 10)
        updates = [n for n in range(1, 10) if seen[n].summary_id not in (None, seen[n - 1].summary_id)]
        assert len(updates) >= 3
        for n in updates[1:]:
            before, after = seen[n - 1].messages, seen[n].messages
            common = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b)
            assert common == (2 * seen[n - 1].raw_from + 1 if keep_calls else 1), (keep_calls, n)
            assert after[common].content.startswith(PINNED.task if not keep_calls else "[Output of step")


def test_a_ledger_arm_with_keep_calls_is_eval_memorys_ledger_condition_with_keep_calls() -> None:
    strategy, records = build("kso", None, k=2, memory_view="ledger", keep_calls=True)
    seen = drive(strategy, 9)
    steps = [make_step(i) for i in range(9)]
    installed = [(n, ctx) for n, ctx in enumerate(seen) if ctx.summary_id is not None]
    assert installed and all(r.view == "ledger" for r in records)
    for n, ctx in installed:
        assert ctx.messages == policy_messages("ledger", PINNED, steps[:n], steps[ctx.raw_from:n],
                                               truncate_tokens=0, recent_tokens=view_budget(128), keep_calls=True)
        assert "<ledger" in ctx.messages[2 * ctx.raw_from + 1].content


def test_sync_keeps_calls_too() -> None:
    strategy, _ = build("sync", echo_memory(), k=2, retain=1, keep_calls=True)
    seen = drive(strategy, 7)
    last = seen[-1]
    assert last.summary_id is not None and last.raw_from >= 2
    assert [m.content for m in last.messages[2::2]] == [f"reply-{i}" for i in range(6)]
    assert "<memory_summary" in last.messages[2 * last.raw_from + 1].content
