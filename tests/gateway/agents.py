"""Small agents built on the official SDKs, as a user's own agent would call the gateway: each turn asks for one
tool call, runs it (here: a fixed observation naming the turn), and sends the whole history again."""

from __future__ import annotations

import json
from typing import Any

TOOLS_OPENAI = [{"type": "function", "function": {
    "name": "bash", "description": "Run a shell command.",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]
TOOLS_ANTHROPIC = [{"name": "bash", "description": "Run a shell command.",
                    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}},
                                     "required": ["command"]}}]


def tool_reply(body: dict[str, Any], protocol: str) -> tuple[str, str, dict[str, Any]]:
    """The upstream's answer: call bash with the number of assistant turns so far."""
    n = sum(m["role"] == "assistant" for m in body["messages"])
    return ("tool", "bash", {"command": f"echo {n}"})


def openai_agent(client: Any, turns: int, *, stream: bool, task: str = "TASK", secret: str = "",
                 **extra: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a test agent."},
                                      {"role": "user", "content": f"{task} {secret}".strip()}]
    for i in range(turns):
        kwargs = {"model": "up", "messages": messages, "tools": TOOLS_OPENAI, **extra}
        if stream:
            calls: dict[int, dict[str, Any]] = {}
            for chunk in client.chat.completions.create(stream=True, **kwargs):
                for choice in chunk.choices:
                    for tc in choice.delta.tool_calls or []:
                        slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] += tc.id or ""
                        slot["name"] += (tc.function.name or "") if tc.function else ""
                        slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
            call = calls[0]
        else:
            done = client.chat.completions.create(**kwargs)
            tc = done.choices[0].message.tool_calls[0]
            call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
        call_id = f"{call['id']}_{i}"  # unique ids, as real servers give
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]})
        command = json.loads(call["arguments"])["command"]
        messages.append({"role": "tool", "tool_call_id": call_id, "content": f"output-{i} of {command} {secret}"})
    return messages


def anthropic_agent(client: Any, turns: int, *, stream: bool, task: str = "TASK", secret: str = "",
                    **extra: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [
        {"type": "text", "text": f"{task} {secret}".strip(), "cache_control": {"type": "ephemeral"}}]}]
    for i in range(turns):
        kwargs = {"model": "up", "max_tokens": 64, "system": [{"type": "text", "text": "You are a test agent."}],
                  "messages": messages, "tools": TOOLS_ANTHROPIC, **extra}
        if stream:
            with client.messages.stream(**kwargs) as events:
                final = events.get_final_message()
        else:
            final = client.messages.create(**kwargs)
        use = next(b for b in final.content if b.type == "tool_use")
        use_id = f"{use.id}_{i}"
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": use_id, "name": use.name, "input": use.input}]})
        result = f"output-{i} of {use.input['command']} {secret}"
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": use_id,
                                                      "content": result}]})
    return messages
