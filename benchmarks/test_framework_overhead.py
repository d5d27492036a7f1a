"""Framework overhead per agent step, with model and tool time taken out (goal: below 2 ms per step).

The real `Agent` loop and context strategy run a whole episode against a `ScriptedLLM` that answers at once
(replies of the agent's real shape: a sentence plus a JSON tool call) and an in-memory environment whose
tools return a ~2 KB observation at once. `sync` and `kso` get a `ScriptedLLM` memory model with no delay, so
their summaries are launched, collected and installed on the real schedule. The pinned prompts are the real
ones of a bundled task. What is timed is everything else: building each prompt, estimating its tokens (the
loop's prompt-size check is on), serialising each request as the OpenAI client sends it, parsing the reply,
recording the step in a real trajectory file (JSONL, fsynced off the event loop, as `comem run` writes it) and
the memory bookkeeping. The goal is asserted on the median episode, not the fastest.

Each round is one episode of `STEPS` (and `LONG_STEPS`) steps on a persistent event loop; the per-step
figures in `extra_info` are the episode's time divided by its number of steps. The main suite does not collect this file
(`testpaths = ["tests"]`); run it with

    .venv/bin/python -m pytest benchmarks/test_framework_overhead.py --benchmark-only
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comem.agent.loop import Agent, AgentConfig
from comem.context import build_strategy, lookup
from comem.context.base import Clock
from comem.core.jsonlog import JsonlLog
from comem.core.records import Completion, ToolCall, ToolResult
from comem.environment.tools import build_tool_specs
from comem.llm.openai_http import message_to_openai
from comem.llm.scripted import ScriptedLLM
from comem.tasks.prompts import pinned_prompts
from comem.tasks.task import load_tasks

STEPS = 30  # the history length; LONG shows how the per-step cost grows with the history
LONG_STEPS = 100
OBSERVATION_BYTES = 2048
GOAL_S_PER_STEP = 0.002

ARMS: dict[str, tuple[str, dict[str, Any]]] = {
    "full": ("full", {}),
    "mask": ("mask", {}),
    "sync-k2": ("sync", {"k": 2}),
    "kso-k2": ("kso", {"k": 2}),
    "kso-k4": ("kso", {"k": 4}),
}


def observation(i: int) -> str:
    """~2 KB of numbered source-like lines, different per step (as file views are)."""
    lines, size, n = [f"Execution output of [file_editor]:\nHere's the result of running `cat -n` on mod_{i}.py:"], 0, 1
    while size < OBSERVATION_BYTES:
        line = f"{n:6}\tdef helper_{i}_{n}(value, scale={n}):  return value * scale + {i}"
        lines.append(line)
        size += len(line) + 1
        n += 1
    return "\n".join(lines)


OBSERVATIONS = [observation(i) for i in range(LONG_STEPS)]
REPLIES = [
    Completion(
        text=f"Let me look at mod_{i}.py next.\n"
        + json.dumps({"name": "file_editor", "arguments": {"command": "view", "path": f"pkg/mod_{i}.py"}}),
        finish_reason="stop", prompt_tokens=1000 + 550 * i, completion_tokens=30,
    )
    for i in range(LONG_STEPS)
]
SUMMARY = Completion(text="Summary: the agent read the modules one by one; nothing changed yet. " * 4,
                     finish_reason="stop", prompt_tokens=2000, completion_tokens=64)


class SerialisingLLM(ScriptedLLM):
    """A scripted model that first serialises each request as the OpenAI-compatible client does."""

    async def chat(self, messages, **kwargs):  # type: ignore[override]
        json.dumps({"model": self.model, "messages": [message_to_openai(m) for m in messages], "stream": True,
                    **{k: v for k, v in kwargs.items() if v is not None}})
        return await super().chat(messages, **kwargs)


class InstantEnvironment:
    """An `Environment` whose tools answer at once from memory."""

    def __init__(self) -> None:
        self.tool_specs = build_tool_specs(60.0)
        self.calls = 0

    async def execute(self, call: ToolCall) -> ToolResult:
        output = OBSERVATIONS[self.calls % len(OBSERVATIONS)]
        self.calls += 1
        return ToolResult(output=output, exit_code=0)

    def diff(self) -> str:
        return ""

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def pinned():
    task = load_tasks(ids=["semver-bump-minor"])[0]
    return pinned_prompts(task, build_tool_specs(60.0), task.repo_dir)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def episode(strategy: str, options: dict[str, Any], pinned, steps: int, trajectory: Path) -> int:
    config = lookup(strategy)[1](name=strategy, **options)
    clock = Clock()
    trajectory.unlink(missing_ok=True)
    writer = JsonlLog(trajectory, background=True)
    memory = SerialisingLLM([SUMMARY], cycle=True) if config.needs_memory() else None
    context = build_strategy(config, pinned, clock, memory_llm=memory, on_memory=writer.append)
    agent = Agent(SerialisingLLM(REPLIES[:steps]), InstantEnvironment(), context,
                  AgentConfig(max_steps=steps, max_prompt_tokens=10**9), clock, on_step=writer.append)
    try:
        outcome = await agent.run()
    finally:
        writer.close()
    assert outcome.exit_reason == "step_limit" and len(outcome.steps) == steps
    if memory is not None:
        assert any(step.summary_id is not None for step in outcome.steps)  # summaries were really installed
    return len(outcome.steps)


@pytest.mark.parametrize("steps", [STEPS, LONG_STEPS])
@pytest.mark.parametrize("arm", list(ARMS))
def test_overhead_per_step(benchmark, loop: asyncio.AbstractEventLoop, pinned, arm: str, steps: int,
                           tmp_path: Path) -> None:
    strategy, options = ARMS[arm]
    benchmark.group = f"episode of {steps} steps, ~{OBSERVATION_BYTES} B observations"
    benchmark.extra_info.update(steps=steps, observation_bytes=OBSERVATION_BYTES)
    log = tmp_path / "trajectory.jsonl"
    done = benchmark.pedantic(lambda: loop.run_until_complete(episode(strategy, options, pinned, steps, log)),
                              rounds=30 if steps == STEPS else 10, iterations=1, warmup_rounds=1)
    assert done == steps
    stats = benchmark.stats.stats if benchmark.stats else None
    if stats is None:  # --benchmark-disable: ran once, nothing to report
        return
    per_step = {name: getattr(stats, name) / steps for name in ("min", "median", "mean")}
    benchmark.extra_info.update({f"per_step_{name}_ms": round(value * 1e3, 4) for name, value in per_step.items()})
    assert per_step["median"] < GOAL_S_PER_STEP, f"{arm}: {per_step['median'] * 1e3:.2f} ms per step (median)"
