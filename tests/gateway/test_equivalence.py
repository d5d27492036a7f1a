"""The gateway and `comem run` build the same prompts: for the same steps and the same summaries, what the
upstream receives through the gateway is, message for message, the context the in-process `kso` strategy gives
its agent (the strategy object is the same; only the wire in between differs)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from comem.context.base import step_messages
from comem.core.records import Message
from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import PINNED, build, echo_summary, make_step
from tests.gateway.helpers import ChatUpstream, config, running_gateway

STEPS = 9


def as_wire(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function",
                              "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                             for c in message.tool_calls]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def steps() -> list:
    return [make_step(i).model_copy(update={"action": make_step(i).action.model_copy(update={"id": f"call_{i}"})})
            for i in range(STEPS)]


def in_process() -> list[list[dict[str, Any]]]:
    strategy, _ = build("kso", ScriptedLLM([echo_summary], cycle=True), k=2)
    history = steps()

    async def go() -> list[list[dict[str, Any]]]:
        seen = []
        for n in range(STEPS):
            seen.append([as_wire(m) for m in (await strategy.context(history[:n])).messages])
            await asyncio.sleep(0)
        await strategy.close()
        return seen

    return asyncio.run(go())


def test_gateway_prompts_equal_the_in_process_strategy(tmp_path: Path) -> None:
    history = steps()
    with ChatUpstream(lambda body, protocol: "ok") as upstream, \
            running_gateway(config(tmp_path), upstream.url, ScriptedLLM([echo_summary], cycle=True)) as (url, _):
        for n in range(STEPS):
            messages = [{"role": "system", "content": PINNED.system}, {"role": "user", "content": PINNED.task}]
            for step in history[:n]:
                messages += [as_wire(m) for m in step_messages(step)]
            assert httpx.post(url + "/chat/completions", json={"model": "m", "messages": messages}).status_code == 200
            # the summary is made while the client "runs its tool": as in-process, between two iterations
    through_gateway = [body["messages"] for body in upstream.bodies()]
    assert through_gateway == in_process()


def test_models_and_health_answer(tmp_path: Path) -> None:
    with ChatUpstream() as upstream, running_gateway(config(tmp_path), upstream.url, ScriptedLLM(["s"])) as (url, _):
        models = httpx.get(url + "/models").json()
        health = httpx.get(url.removesuffix("/v1") + "/health").json()
    assert models["data"][0]["id"] == "up" and health["status"] == "ok"
