"""Sessions: which requests belong together, what happens when a client edits its history, what survives a
restart, and the records a session leaves (the `comem run` layout, so `comem report` reads them)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from comem.core.jsonlog import read_records
from comem.core.records import EpisodeStart, MemoryRecord, Message, Step
from comem.gateway.store import session_key
from comem.gateway.wire import OpenAIChat
from comem.llm.base import Completion
from comem.llm.scripted import ScriptedLLM
from comem.report.summary import summarise
from tests.context.helpers import echo_summary
from tests.gateway.agents import tool_reply
from tests.gateway.helpers import ChatUpstream, config, running_gateway


def start(system: str = "S", task: str = "T") -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "system", "content": system}, {"role": "user", "content": task}]}


def turn(url: str, body: dict[str, Any], i: int, headers: dict[str, str] | None = None, note: str = "") -> None:
    """One agent turn: ask, append the tool call and its result (`output-i`) to the body."""
    answer = httpx.post(url + "/chat/completions", json=body, headers=headers or {}, timeout=30)
    assert answer.status_code == 200, answer.text
    call = answer.json()["choices"][0]["message"]["tool_calls"][0]
    call["id"] = f"c{i}"
    body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": f"c{i}", "content": f"output-{i} {note}".strip()}]


def summary_in(body: dict[str, Any]) -> str:
    return body["messages"][1]["content"] if "<memory_summary" in body["messages"][1]["content"] else ""


def test_identity_ladder() -> None:
    wire, body = OpenAIChat(), start()
    conv = wire.conversation(body)
    hashed = session_key(wire, body, conv, {})
    assert hashed == session_key(wire, body, conv, {"user-agent": "x"})  # the same conversation, the same session
    assert session_key(wire, {**body, "user": "u1"}, conv, {}).startswith("u1~")
    assert session_key(wire, {**body, "prompt_cache_key": "p"}, conv, {"x-claude-code-session-id": "cc"}
                       ).startswith("cc~")
    assert session_key(wire, body, conv, {"x-comem-session": "mine", "x-claude-code-session-id": "cc"}
                       ).startswith("mine~")
    side = start(system="Write a title for this conversation.")
    side_key = session_key(wire, side, wire.conversation(side), {"x-comem-session": "mine"})
    assert side_key != session_key(wire, body, conv, {"x-comem-session": "mine"})  # a side request is its own


def test_side_request_never_sees_the_main_sessions_summary(tmp_path: Path) -> None:
    memory = ScriptedLLM([echo_summary], cycle=True)
    headers = {"x-comem-session": "one"}
    with ChatUpstream(tool_reply) as upstream, running_gateway(config(tmp_path), upstream.url, memory) as (url, _):
        main = start()
        for i in range(6):
            turn(url, main, i, headers)
        side = start(system="Summarise for a title.", task="T")
        side["messages"] += main["messages"][2:]  # the same turns, another system prompt (a subagent)
        turn(url, side, 99, headers)
    assert summary_in(upstream.bodies()[5])  # the main session got summaries
    assert not summary_in(upstream.bodies()[6])  # the side request did not


def test_edited_history_drops_summaries_of_changed_turns(tmp_path: Path) -> None:
    memory = ScriptedLLM([echo_summary], cycle=True)
    with ChatUpstream(tool_reply) as upstream, running_gateway(config(tmp_path), upstream.url, memory) as (url, gw):
        body = start()
        for i in range(6):
            turn(url, body, i)
        assert "summary-of[0,1,2]" in summary_in(upstream.bodies()[-1])
        rewound = {**body, "messages": body["messages"][:2 + 2 * 2]}  # back to after turn 1
        rewound["messages"][-1] = {**rewound["messages"][-1], "content": "output-1 EDITED"}
        turn(url, rewound, 7)
        resyncs = gw.metrics.resyncs._value.get()
    last = upstream.bodies()[-1]
    assert resyncs == 1
    assert not summary_in(last)  # every summary covered a turn that changed or is gone
    assert last["messages"][-1]["content"] == "output-1 EDITED"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    body = start()
    with ChatUpstream(tool_reply) as upstream:
        with running_gateway(cfg, upstream.url, ScriptedLLM([echo_summary], cycle=True)) as (url, _):
            for i in range(6):
                turn(url, body, i)
        installed = summary_in(upstream.bodies()[-1])
        assert installed
        restarted_memory = ScriptedLLM(["should not be needed yet"], cycle=True, delay_s=5)
        with running_gateway(cfg, upstream.url, restarted_memory) as (url, _):
            turn(url, body, 6)
        after = summary_in(upstream.bodies()[-1])
    assert "summary-of[" in after  # the restored summary is shown at once, before any new one could be made
    records = read_records(next((tmp_path / "gw" / "kso" / "trajectories").glob("*.jsonl")))
    assert sum(isinstance(r, EpisodeStart) for r in records) == 1  # one session, one file, across the restart


def test_records_and_report(tmp_path: Path) -> None:
    memory = ScriptedLLM([echo_summary], cycle=True)
    with ChatUpstream(tool_reply, delay_s=0.02) as upstream, \
            running_gateway(config(tmp_path), upstream.url, memory) as (url, _):
        for name in ("a", "b"):
            body = start(task=f"task {name}")
            for i in range(6):
                turn(url, body, i, {"x-comem-session": name})
    out = tmp_path / "gw"
    files = sorted((out / "kso" / "trajectories").glob("*.jsonl"))
    assert [f.name.split("-")[0] for f in files] == ["a", "b"]
    records = read_records(files[0])
    steps = [r for r in records if isinstance(r, Step)]
    assert isinstance(records[0], EpisodeStart) and records[0].task_prompt == "task a"
    assert [s.index for s in steps] == [0, 1, 2, 3, 4]  # the 6th reply's results never came back
    assert all(s.agent_total_s >= 0.02 and s.prompt_tokens == 100 for s in steps)
    assert any(s.summary_id is not None and s.raw_from > 0 for s in steps)
    memories = [r for r in records if isinstance(r, MemoryRecord)]
    assert memories and all(m.finished_s >= m.launched_s for m in memories)
    results = [json.loads(line) for line in (out / "kso" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["instance_id"] for r in results) == [f.stem for f in files]  # the `comem run` layout
    assert all(r["exit_reason"] == "session_end" for r in results)
    [row] = summarise(out)
    assert row.arm == "kso" and row.episodes == 2 and row.steps == 10
    assert row.step_latency_p50_s is not None and row.step_latency_p50_s > 0  # step records found and read


def test_sessions_beyond_the_limit_leave_memory_not_disk(tmp_path: Path) -> None:
    memory = ScriptedLLM([echo_summary], cycle=True)
    cfg = config(tmp_path, sessions={"max_sessions": 1})
    with ChatUpstream(tool_reply) as upstream, running_gateway(cfg, upstream.url, memory) as (url, gw):
        bodies = [start(task=f"task {n}") for n in range(3)]
        for n, body in enumerate(bodies):  # each session evicts the one before it
            for i in range(6):
                turn(url, body, i, {"x-comem-session": f"s{n}"})
        turn(url, bodies[0], 6, {"x-comem-session": "s0"})  # back to the first: restored from disk
        live = len(gw.store.live)
    assert live == 1
    assert "summary-of[0,1,2]" in summary_in(upstream.bodies()[-1])


@pytest.mark.parametrize(("view", "mark"), [("ledger", "<ledger"), ("recent", "Last steps (newest last):")])
def test_an_extracted_memory_needs_no_memory_model(tmp_path: Path, view: str, mark: str) -> None:
    cfg = config(tmp_path, arm={"name": "kso", "k": 2, "memory_view": view})
    with ChatUpstream(tool_reply) as upstream, running_gateway(cfg, upstream.url, None) as (url, gateway):
        body = start()
        for i in range(5):
            turn(url, body, i)
        assert gateway.pool is None
    task = upstream.bodies()[-1]["messages"][1]["content"]
    assert mark in task and "echo 0" in task  # the view of the summarised turns, built with no model


class GatedMemory(ScriptedLLM):
    """Summaries of the conversation whose task holds `slow` wait until `release` is set (set from the test's
    thread while the gateway's loop awaits it): a memory update still in flight when another session arrives."""

    def __init__(self, slow: str) -> None:
        super().__init__([echo_summary], cycle=True)
        self.slow, self.release = slow, threading.Event()

    async def chat(self, messages: list[Message], **kw: Any) -> Completion:
        if self.slow in messages[-1].content:
            await asyncio.to_thread(self.release.wait, 30)
        return await super().chat(messages, **kw)


def test_eviction_spares_a_session_whose_summary_is_in_flight(tmp_path: Path) -> None:
    memory = GatedMemory(slow="task A")
    cfg = config(tmp_path, sessions={"max_sessions": 2}, memory_concurrency=2,  # A's held call must not block B's
                 arm={"name": "kso", "k": 2, "late_policy": "stale"})
    with ChatUpstream(tool_reply) as upstream, running_gateway(cfg, upstream.url, memory) as (url, gw):
        bodies = {name: start(task=f"task {name}") for name in "ABC"}
        for name in "AB":  # A, the least recently used, ends with its summary held; B's all arrived
            for i in range(3):
                turn(url, bodies[name], i, {"x-comem-session": name})
        deadline = time.monotonic() + 10
        while any(s.summarising for k, s in gw.store.live.items() if k.startswith("B~")) and \
                time.monotonic() < deadline:  # B's last summary is instant, but runs after its reply
            time.sleep(0.02)
        busy = {k.split("~")[0]: s.summarising for k, s in gw.store.live.items()}
        turn(url, bodies["C"], 0, {"x-comem-session": "C"})
        live = sorted(k.split("~")[0] for k in gw.store.live)
        memory.release.set()
        for i in range(3, 6):
            turn(url, bodies["A"], i, {"x-comem-session": "A"})
    assert busy == {"A": True, "B": False}
    assert live == ["A", "C"]  # B went, though A was older
    a_bodies = [b for b in upstream.bodies() if "task A" in b["messages"][1]["content"]]
    assert [bool(summary_in(b)) for b in a_bodies] == [False] * 3 + [True] * 3
    assert "summary-of[0]\n" in summary_in(a_bodies[3])  # the held summary, installed the turn after it arrived
    records = [r for r in read_records(next((tmp_path / "gw" / "kso" / "trajectories").glob("A-*.jsonl")))
               if isinstance(r, MemoryRecord)]
    assert records[0].covers == (0, 1) and records[0].status != "superseded"  # not cancelled by an eviction
