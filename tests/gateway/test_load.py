"""Load on loopback: 64 concurrent sessions x 20 turns, each carrying its own secret. No 5xx, no secret ever in
another session's upstream request or memory input, and what the gateway holds stays bounded."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx

from comem.core.records import Message
from comem.llm.scripted import ScriptedLLM
from tests.gateway.agents import tool_reply
from tests.gateway.helpers import ChatUpstream, config, running_gateway

SESSIONS, TURNS = 64, 20
SECRET = re.compile(r"SECRET-\d+")


def remember_secrets(messages: list[Message]) -> str:
    """A memory model that repeats every secret it was shown: a leak would carry it into a summary."""
    return "summary keeps " + " ".join(sorted(set(SECRET.findall(messages[-1].content))))


async def agent(client: httpx.AsyncClient, url: str, n: int) -> list[int]:
    secret = f"SECRET-{n}"
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "system", "content": "S"},
                                                       {"role": "user", "content": f"task {n} {secret}"}]}
    statuses = []
    for i in range(TURNS):
        answer = await client.post(url + "/chat/completions", json=body)
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            continue
        call = answer.json()["choices"][0]["message"]["tool_calls"][0]
        call["id"] = f"c{i}"
        body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                             {"role": "tool", "tool_call_id": f"c{i}", "content": f"output-{i} {secret}"}]
    return statuses


def test_64_sessions_no_errors_no_leaks_bounded(tmp_path: Path) -> None:
    memory = ScriptedLLM([remember_secrets], cycle=True, delay_s=0.01)
    # every session stays live (eviction, which cancels a summary in flight, is tested in test_sessions.py)
    cfg = config(tmp_path, memory_concurrency=2, memory_queue=8, sessions={"max_sessions": SESSIONS})
    with ChatUpstream(tool_reply) as upstream, running_gateway(cfg, upstream.url, memory) as (url, gateway):

        async def main() -> list[list[int]]:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=SESSIONS)) as client:
                return await asyncio.gather(*(agent(client, url, n) for n in range(SESSIONS)))

        statuses = asyncio.run(main())
        live, peak = len(gateway.store.live), gateway.pool.peak
        summaries = gateway.metrics.requests.labels("openai", "200", "yes")._value.get()
    assert [s for per in statuses for s in per if s >= 500] == []
    assert sum(len(per) for per in statuses) == SESSIONS * TURNS
    for body in upstream.bodies():
        own = SECRET.findall(body["messages"][1]["content"])[0]  # the task carries the session's own secret
        assert set(SECRET.findall(str(body))) == {own}
    for prompt in memory.requests:
        assert len(set(SECRET.findall(prompt[-1].content))) == 1
    assert summaries > 0  # summaries were installed under load
    assert live <= SESSIONS and 0 < peak <= 2 + 8  # memory_concurrency + memory_queue
