"""Synchronous memory: the agent waits for every summary, and covered raw steps really are dropped."""

from __future__ import annotations

import pytest

from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import build, drive, raw_steps, summarised_steps


@pytest.mark.parametrize(("k", "retain"), [(1, 1), (2, 1), (3, 1), (2, 0), (2, 2)])
def test_coverage_and_raw_window(k: int, retain: int, memory: ScriptedLLM) -> None:
    strategy, records = build("sync", memory, k=k, retain=retain)
    seen = drive(strategy, 12)
    assert records and all(r.status == "ok" for r in records)
    for n, ctx in enumerate(seen):
        assert sorted(summarised_steps(ctx) + raw_steps(ctx)) == list(range(n))  # each step once
        if ctx.summary_id is not None:
            assert retain <= n - ctx.raw_from <= retain + k - 1
            assert raw_steps(ctx) == list(range(ctx.raw_from, n))  # no covered step kept raw (docs/method.md §10)


def test_installed_immediately_and_wait_fully_exposed() -> None:
    slow = ScriptedLLM(["s"], cycle=True, delay_s=0.2)
    strategy, records = build("sync", slow, k=2, retain=1)
    seen = drive(strategy, 4, agent_s=0.05)
    first = records[0]
    assert first.launch_step == first.installed_step == 3
    assert seen[3].summary_id == first.id and seen[3].memory_wait_s > 0
    assert first.exposed_wait_s == pytest.approx(seen[3].memory_wait_s)  # the agent sat through the whole call ...
    assert first.hidden_s < first.exposed_wait_s  # ... so (next to) none of it ran hidden


def test_error_falls_back_to_raw_history() -> None:
    from comem.llm.base import LLMError

    strategy, records = build("sync", ScriptedLLM([LLMError("down")], cycle=True), k=2, retain=1)
    seen = drive(strategy, 6)
    assert all(r.status == "error" for r in records)
    assert all(ctx.summary_id is None and raw_steps(ctx) == list(range(n)) for n, ctx in enumerate(seen))
