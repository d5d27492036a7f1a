"""The eval tests' model server: tests/standin.py's OpenAI stand-in with a scripted agent and an echoing memory.

The engine reaches it exactly as it reaches vLLM or llama.cpp (URL, streaming client, retries), from this
process, from a `comem` subprocess, or from Ray workers. The agent's action depends only on the step index it
can read from the request (steps covered by a summary + assistant turns shown), so every strategy gets the same
script; the memory model's reply names the first file paths of the summarised steps.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.standin import OpenAIStandIn

DEFAULT_SCRIPT = [
    {"name": "bash", "arguments": {"command": "ls"}},
    {"name": "bash", "arguments": {"command": "python -c 'print(12345)'"}},
    {"name": "submit", "arguments": {}},
]
_COVERED = re.compile(r'<memory_summary steps="1-(\d+)">')
_PATH = re.compile(r"[\w-]+/[\w/.-]+\.py")


def step_index(messages: list[dict[str, Any]]) -> int:
    covered = 0
    for m in messages:
        if m["role"] == "user" and (found := _COVERED.search(m.get("content") or "")):
            covered = int(found.group(1))
    return covered + sum(m["role"] == "assistant" for m in messages)


class StandInServer(OpenAIStandIn):
    """`agent_model` requests get `script[step]` as a JSON tool call; any other model gets a summary. `requests`
    holds each chat request's JSON (its `model`, and `seed` where one was sent)."""

    def __init__(self, script: list[dict[str, Any]] | None = None, delay_s: float = 0.0,
                 agent_model: str = "agent") -> None:
        self.script = script or DEFAULT_SCRIPT
        self.agent_model = agent_model
        super().__init__(self.reply, delay_s=delay_s, models=[agent_model])

    def reply(self, body: dict[str, Any]) -> str:
        if body["model"] == self.agent_model:
            action = self.script[min(step_index(body["messages"]), len(self.script) - 1)]
            return f"Next I act.\n{json.dumps(action)}"
        prompt = body["messages"][-1]["content"]
        return "The agent ran `ls` and looked at " + ", ".join(dict.fromkeys(_PATH.findall(prompt)[:3])) + "."


def model_config(server: StandInServer) -> dict[str, Any]:
    """The `agent` and `memory` entries of a config that point at `server`."""
    return {"agent": {"model": server.agent_model, "url": server.url, "max_retries": 0},
            "memory": {"model": "memory", "url": server.url, "max_retries": 0}}
