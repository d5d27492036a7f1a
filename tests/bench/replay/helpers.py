"""Test doubles for replay: a recording stand-in engine and a small recorded trajectory."""

from __future__ import annotations

from typing import Any

from comem.core.records import Completion, Message, Step, ToolCall
from comem.trajectories.sources import RecordedTrajectory


class RecordingEngine:
    """Stands in for a server: remembers every request and answers with a fixed reply."""

    model = "engine"

    def __init__(self) -> None:
        self.calls: list[tuple[list[Message], int]] = []

    async def chat(self, messages: list[Message], *, max_tokens: int, **_: Any) -> Completion:
        self.calls.append((messages, max_tokens))
        return Completion(text="IGNORED", prompt_tokens=sum(len(m.content) for m in messages) // 4,
                          completion_tokens=max_tokens, cached_tokens=0, ttft_s=0.001, total_s=0.002)

    async def aclose(self) -> None:
        return None


def recording(n: int = 6) -> RecordedTrajectory:
    steps = [Step(index=i, thought=f"look {i}", response=f"I look at file {i}.\n{{\"name\": \"bash\"}}",
                  action=ToolCall(name="bash", arguments={"command": f"cat f{i}"}),
                  observation=f"contents of file {i} " * 20, completion_tokens=10 + i, tool_s=0.001 * i)
             for i in range(n)]
    return RecordedTrajectory(name="rec", system="SYSTEM", task="TASK", steps=steps)
