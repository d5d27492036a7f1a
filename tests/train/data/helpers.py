"""Shared by the training-data and eval-memory tests: small real trajectory files, and (from tests/standin.py) the
loopback OpenAI-compatible stand-in whose answers a test decides per request."""

from __future__ import annotations

import json
from pathlib import Path

from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeEnd, EpisodeStart, Step, ToolCall
from tests.standin import OpenAIStandIn

__all__ = ["ACTIONS", "OpenAIStandIn", "write_run", "write_trajectory"]

ACTIONS = [
    ToolCall(name="file_editor", arguments={"command": "view", "path": "calc/ops.py"}),
    ToolCall(name="search", arguments={"search_term": "divide"}),
    ToolCall(name="bash", arguments={"command": "python -m pytest -q tests/test_ops.py"}),
    ToolCall(name="file_editor", arguments={"command": "str_replace", "path": "calc/ops.py",
                                            "old_str": "return a / b", "new_str": "return a // b"}),
    ToolCall(name="bash", arguments={"command": "git diff"}),
    ToolCall(name="submit", arguments={}),
]


def write_trajectory(path: Path, name: str, n_steps: int, *, missing_action_at: int | None = None) -> Path:
    """A `comem run`-shaped trajectory file, written with the real JsonlLog: short prompts and
    observations, so a real model reads it quickly. Step `missing_action_at` has a format error (no action)."""
    writer = JsonlLog(path)
    writer.append(EpisodeStart(instance_id=name, strategy="full", system_prompt="You fix bugs with tools.",
                              task_prompt=f"Task {name}: divide() in calc/ops.py must floor."))
    for i in range(n_steps):
        call = None if i == missing_action_at else ACTIONS[i % len(ACTIONS)]
        response = f"Step {i} of {name}.\n" + (json.dumps({"name": call.name, "arguments": call.arguments})
                                                if call else "I am not sure.")
        writer.append(Step(index=i, thought=f"Step {i} of {name}.", response=response, action=call,
                          observation=f"[{name} output {i}] " + "ok " * (5 + i), format_error=call is None))
    writer.append(EpisodeEnd(instance_id=name, strategy="full", exit_reason="step_limit", steps=n_steps, wall_s=1.0,
                            agent_s=0.5, tool_s=0.5, memory_wait_s=0.0, max_prompt_tokens=100, memory_updates=0))
    writer.close()
    return path


def write_run(root: Path, tasks: dict[str, int]) -> Path:
    """A `comem run` arm directory holding one trajectory per (task, step count)."""
    for name, n in tasks.items():
        write_trajectory(root / "full" / "trajectories" / f"{name}.jsonl", name, n)
    return root
