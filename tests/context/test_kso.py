"""k-step-off memory: the schedules of docs/method.md §4, the coverage invariant, late and failed summaries."""

from __future__ import annotations

import asyncio

import pytest

from comem.core.records import MemoryRecord
from comem.llm.base import LLMError
from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import PINNED, build, drive, echo_memory, make_step, raw_steps, summarised_steps


def expected_launches(k: int, total: int) -> list[int]:
    return [n for n in range(1, total) if (n + 1) % k == 0]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_schedule_matches_method(k: int, memory: ScriptedLLM) -> None:
    total = 14
    strategy, records = build("kso", memory, k=k)
    seen = drive(strategy, total)
    launches = expected_launches(k, total)
    assert [r.launch_step for r in records] == launches
    for n, ctx in enumerate(seen):
        earlier = [launch for launch in launches if launch < n]
        if not earlier:  # before the first summary is installed: full native history
            assert ctx.summary_id is None and ctx.raw_from == 0 and raw_steps(ctx) == list(range(n))
            continue
        L = earlier[-1]  # noqa: N806
        assert ctx.raw_from == L
        assert summarised_steps(ctx) == list(range(L)), (k, n)
        assert raw_steps(ctx) == list(range(L, n)), (k, n)
        assert 1 <= n - L <= k  # the raw window cycles 1..k
    first_install = max(k, 2)
    assert seen[first_install].summary_id is not None and seen[first_install - 1].summary_id is None


def test_k2_examples_from_the_paper(memory: ScriptedLLM) -> None:
    seen = drive(build("kso", memory, k=2)[0], 6)
    assert (summarised_steps(seen[2]), raw_steps(seen[2])) == ([0], [1])
    assert (summarised_steps(seen[3]), raw_steps(seen[3])) == ([0], [1, 2])
    assert (summarised_steps(seen[4]), raw_steps(seen[4])) == ([0, 1, 2], [3])


@pytest.mark.parametrize("mode", ["from_scratch", "incremental"])
@pytest.mark.parametrize("k", [1, 3])
def test_every_step_seen_exactly_once(k: int, mode: str, memory: ScriptedLLM) -> None:
    for n, ctx in enumerate(drive(build("kso", memory, k=k, memory_input=mode)[0], 12)):
        seen = summarised_steps(ctx) + raw_steps(ctx)
        assert sorted(seen) == list(range(n)) and len(seen) == n


def test_pinned_messages_and_pair_safe_cuts(memory: ScriptedLLM) -> None:
    for ctx in drive(build("kso", memory, k=2)[0], 9):
        assert ctx.messages[0].role == "system" and ctx.messages[0].content == PINNED.system
        assert ctx.messages[1].role == "user" and ctx.messages[1].content.startswith(PINNED.task)
        body = ctx.messages[2:]
        assert len(body) % 2 == 0
        for call, result in zip(body[::2], body[1::2], strict=True):
            assert call.role == "assistant" and result.role in ("user", "tool")
            assert call.content.split("-")[1] == result.content.split("-")[1]  # same step


def test_incremental_input_is_bounded(memory: ScriptedLLM) -> None:
    strategy, records = build("kso", memory, k=2, memory_input="incremental")
    drive(strategy, 12)
    assert records[0].mode == "from_scratch"
    assert all(r.mode == "incremental" for r in records[1:])
    assert [r.covers for r in records[1:3]] == [(1, 3), (3, 5)]
    sizes = [r.input_chars for r in records[1:]]
    assert max(sizes) - min(sizes) < 200  # does not grow with the history
    last_prompt = memory.requests[-1][-1].content
    assert "SUMMARY OF EARLIER STEPS" in last_prompt and "output-0" not in last_prompt


def test_wait_policy_exposes_the_late_part_only() -> None:
    slow = ScriptedLLM(["the summary"], cycle=True, delay_s=0.3)
    strategy, records = build("kso", slow, k=2)
    seen = drive(strategy, 3, agent_s=0.1)
    assert seen[2].summary_id == 0 and seen[2].memory_wait_s > 0  # still running at n = 2: the agent waited for it
    assert records[0].exposed_wait_s == pytest.approx(seen[2].memory_wait_s)
    assert records[0].hidden_s > 0  # the agent step between launch and collection ran hidden
    assert records[0].hidden_s + records[0].exposed_wait_s == pytest.approx(records[0].latency_s)


def test_deadline_policy_gives_the_memory_k_steps() -> None:
    strategy, records = build("kso", echo_memory(delay_s=0.25), k=2, late_policy="deadline")
    seen = drive(strategy, 6, agent_s=0.1)
    assert seen[2].summary_id is None  # not in yet and not due: no block (a wait would have installed it), full history
    assert seen[3].summary_id == 0 and raw_steps(seen[3]) == [1, 2]  # due again at n = 3: collected first
    assert records[0].installed_step - records[0].launch_step == 2  # it had two agent steps, not one
    assert [r.launch_step for r in records] == [1, 3, 5]
    for n, ctx in enumerate(seen):
        assert sorted(summarised_steps(ctx) + raw_steps(ctx)) == list(range(n))
        assert ctx.summary_id is None or n - ctx.raw_from <= 3  # the raw window stays within 2k - 1


@pytest.mark.parametrize("policy", ["wait", "deadline"])
def test_deadline_with_k1_is_the_paper_schedule(policy: str) -> None:
    slow = ScriptedLLM(["the summary"], cycle=True, delay_s=0.3)
    strategy, records = build("kso", slow, k=1, late_policy=policy)
    seen = drive(strategy, 5, agent_s=0.05)
    assert [c.raw_from for c in seen] == [0, 0, 1, 2, 3]  # every summary installed one step after its launch
    assert [r.installed_step - r.launch_step for r in records if r.status == "ok"] == [1, 1, 1]
    # the memory is slower than a step: from n = 2 on, most of each call is waited for, the rest ran hidden
    assert all(r.exposed_wait_s > r.hidden_s for r in records if r.status == "ok")


def test_stale_policy_keeps_acting_on_the_previous_summary() -> None:
    slow = ScriptedLLM(["the summary"], cycle=True, delay_s=0.5)
    strategy, records = build("kso", slow, k=1, late_policy="stale", max_wait_s=0.0)
    seen = drive(strategy, 4, agent_s=0.05)
    assert all(ctx.summary_id is None for ctx in seen)  # never blocked, nothing arrived in time
    assert [r.status for r in records] == ["superseded"]  # the one in flight at episode end
    assert all(sorted(raw_steps(c)) == list(range(n)) for n, c in enumerate(seen))


def test_memory_error_falls_back_and_is_recorded() -> None:
    flaky = ScriptedLLM(["first summary", LLMError("boom"), "third summary"], cycle=False)
    strategy, records = build("kso", flaky, k=2)
    seen = drive(strategy, 7)
    assert [r.status for r in records] == ["ok", "error", "ok"]
    assert "boom" in records[1].error
    assert seen[4].summary_id == 0 and seen[4].raw_from == 1  # fell back: previous summary + more raw steps
    assert raw_steps(seen[4]) == [1, 2, 3]
    assert seen[6].summary_id == 2 and seen[6].raw_from == 5


def test_memory_timeout_is_an_error_not_a_crash() -> None:
    slow = ScriptedLLM(["late"], cycle=True, delay_s=5.0)
    strategy, records = build("kso", slow, k=2, memory_timeout_s=0.05)
    seen = drive(strategy, 4, agent_s=0.01)
    assert records[0].status == "error" and "timed out" in records[0].error
    assert seen[2].summary_id is None and raw_steps(seen[3]) == [0, 1, 2]


def test_token_trigger_without_period(memory: ScriptedLLM) -> None:
    strategy, records = build("kso", memory, k=None, trigger_tokens=30)
    seen = drive(strategy, 8)
    assert records, "the token budget must fire"
    assert all(summarised_steps(c) + raw_steps(c) == list(range(n)) for n, c in enumerate(seen))


def test_kso_without_memory_model_is_a_clear_error() -> None:
    from comem.core.errors import ComemError

    with pytest.raises(ComemError, match="memory model"):
        build("kso", None, k=2)


def test_rewind_forgets_summaries_of_steps_the_history_lost(memory: ScriptedLLM) -> None:
    """A client rewound its conversation: no summary of a step it no longer has may be shown again."""

    async def go() -> tuple[list[int], list[int], list[str]]:
        strategy, records = build("kso", memory, k=2)
        steps = [make_step(i) for i in range(5)]
        for n in range(5):
            ctx = await strategy.context(steps[:n])  # launches at n = 1, 3; at n = 4 the one of 0..2 is installed
            await asyncio.sleep(0)
        before = summarised_steps(ctx)
        await strategy.context(steps)  # n = 5: launches a summary of 0..4
        await strategy.rewind(2)  # history edited after step 1: the summary of 0..2 and the one in flight go
        after = summarised_steps(await strategy.context(steps[:2]))
        await strategy.close()
        return before, after, [r.status for r in records]

    before, after, statuses = asyncio.run(go())
    assert max(before) >= 2 and after == []
    assert "superseded" in statuses


def test_adopt_installs_a_restored_summary(memory: ScriptedLLM) -> None:
    strategy, _ = build("kso", memory, k=4)
    restored = MemoryRecord(id=7, strategy="kso", mode="from_scratch", covers=(0, 3), launch_step=3,
                            summary="summary-of[0,1,2]", status="ok")
    strategy.adopt(restored)
    ctx = asyncio.run(strategy.context([make_step(i) for i in range(5)]))
    assert summarised_steps(ctx) == [0, 1, 2] and raw_steps(ctx) == [3, 4] and ctx.summary_id == 7


def test_a_failed_update_still_in_hand_at_episode_end_counts_as_a_failure() -> None:
    """The last launch failed before the agent collected it: close() must log it as `error`, not `superseded`."""
    failing = ScriptedLLM([LLMError("memory server gone")], cycle=True)
    strategy, records = build("kso", failing, k=1, late_policy="stale", max_wait_s=0.0)
    drive(strategy, 2, agent_s=0.05)  # launched at n = 1, failed during the agent's step, never collected
    assert [(r.status, r.error) for r in records] == [("error", "memory server gone")]
