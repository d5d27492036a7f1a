"""Matched replay with scripted engines: the loop logic (prompts, sessions, forced lengths, memory rows)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from comem.bench.replay.arms import parse_arm
from comem.bench.replay.driver import forced_tokens, replay_trajectory
from comem.context.base import Clock
from comem.llm.scripted import ScriptedLLM
from tests.bench.replay.helpers import RecordingEngine, recording


def replay(arm: str, engine: RecordingEngine, memory: Any = None, **kw: Any):
    return asyncio.run(replay_trajectory(recording(), parse_arm(arm, {"memory_max_tokens": 16}), engine, memory,
                                         Clock(), **kw))


def test_full_arm_sends_the_recorded_history_verbatim() -> None:
    engine = RecordingEngine()
    rows, memory = replay("full", engine)
    assert [r.step for r in rows] == list(range(6)) and memory == []
    last, _ = engine.calls[-1]
    text = "\n".join(m.content for m in last)
    rec = recording()
    for step in rec.steps[:5]:
        assert step.response in text and step.observation in text
    assert "IGNORED" not in text  # the engine's own output never enters the history
    assert [max_tokens for _, max_tokens in engine.calls] == [10, 11, 12, 13, 14, 15]  # recorded lengths


def test_replay_is_deterministic_and_sessions_isolate_the_cache() -> None:
    first, second, nocache = RecordingEngine(), RecordingEngine(), RecordingEngine()
    replay("full", first)
    replay("full", second)
    assert [m for m, _ in first.calls] == [m for m, _ in second.calls]
    tags = {msgs[0].content.splitlines()[0] for msgs, _ in first.calls}
    assert tags == {"[session full/r0/a0/j0]"}
    replay("full-nocache", nocache)
    fresh = [msgs[0].content.splitlines()[0] for msgs, _ in nocache.calls]
    assert len(set(fresh)) == len(fresh)  # a new session per request: nothing can be served from cache


def test_fixed_output_length_and_tool_time_override() -> None:
    engine = RecordingEngine()
    rows, _ = replay("mask", engine, output_tokens=7, tool_time_s=0.0)
    assert {max_tokens for _, max_tokens in engine.calls} == {7}
    assert all(r.tool_s == 0.0 for r in rows)
    scaled, _ = replay("mask", RecordingEngine(), tool_scale=2.0)
    assert [r.tool_s for r in scaled] == pytest.approx([0.002 * i for i in range(6)])


def test_kso_replay_records_memory_calls_and_bounds_the_prompt() -> None:
    engine = RecordingEngine()
    memory = ScriptedLLM(["SUMMARY"], delay_s=0.01, cycle=True)
    rows, mem = replay("kso-k2", engine, memory, agent=3, concurrency=4)
    assert [m.launch_step for m in mem] == [1, 3, 5]
    assert all(m.status in ("ok", "superseded") for m in mem) and mem[0].status == "ok"
    assert all(r.agent == 3 and r.concurrency == 4 and r.memory_wait_s >= 0 for r in rows)
    installed = [r for r in rows if r.summary_id is not None]
    assert installed and all(r.raw_from >= 1 for r in installed)
    assert all(msgs[0].content.startswith("[session kso-k2/r0/a3/j0]") for msgs in memory.requests)
    full = RecordingEngine()
    full_rows, _ = replay("full", full)
    assert rows[-1].prompt_tokens < full_rows[-1].prompt_tokens


def test_forced_tokens_falls_back_to_the_reply_length() -> None:
    step = recording().steps[0].model_copy(update={"completion_tokens": 0, "response": "x" * 40})
    assert forced_tokens(step, None) == 10 and forced_tokens(step, 3) == 3
