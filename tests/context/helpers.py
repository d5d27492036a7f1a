"""Helpers for strategy tests: synthetic steps, and a memory model that says which steps it was shown."""

from __future__ import annotations

import asyncio
import re

from comem.context import lookup
from comem.context.base import AgentContext, Clock, Pinned
from comem.core.records import MemoryRecord, Message, Step, ToolCall
from comem.llm.scripted import ScriptedLLM

PINNED = Pinned(system="SYSTEM-PROMPT", task="TASK-STATEMENT")


def make_step(i: int) -> Step:
    return Step(index=i, thought=f"thought-{i}", response=f"reply-{i}",
                action=ToolCall(name="bash", arguments={"command": f"echo {i}"}), observation=f"output-{i}")


def echo_summary(messages: list[Message]) -> str:
    """The summary names exactly the steps whose observations were in the memory input."""
    text = messages[-1].content
    ids = sorted({int(i) for i in re.findall(r"output-(\d+)", text)})
    prev = re.search(r"SUMMARY OF EARLIER STEPS:\n```\nsummary-of\[([\d,]*)\]", text)
    if prev and prev.group(1):
        ids = sorted(set(ids) | {int(i) for i in prev.group(1).split(",")})
    return "summary-of[" + ",".join(map(str, ids)) + "]"


def summarised_steps(ctx: AgentContext) -> list[int]:
    m = re.search(r"summary-of\[([\d,]*)\]", ctx.messages[1].content)
    return [int(i) for i in m.group(1).split(",")] if m and m.group(1) else []


def raw_steps(ctx: AgentContext) -> list[int]:
    return [int(m.content.split("-")[1]) for m in ctx.messages[2:] if m.role == "assistant"]


def build(name: str, memory: ScriptedLLM | None = None, **options):
    cls, config_cls = lookup(name)
    records: list[MemoryRecord] = []
    strategy = cls(config_cls(**options), PINNED, Clock(), memory_llm=memory, on_memory=records.append)
    return strategy, records


def drive(strategy, total: int, agent_s: float = 0.0) -> list[AgentContext]:
    """Run `total` iterations; `agent_s` emulates the agent call + tool time per step."""

    async def go() -> list[AgentContext]:
        steps, seen = [], []
        for n in range(total):
            seen.append(await strategy.context(steps))
            if agent_s:
                await asyncio.sleep(agent_s)
            else:
                await asyncio.sleep(0)  # one loop turn, as a real agent call would give
            steps.append(make_step(n))
        await strategy.close()
        return seen

    return asyncio.run(go())


def echo_memory(**kw) -> ScriptedLLM:
    return ScriptedLLM([echo_summary], cycle=True, **kw)


def tool_step(i: int, name: str, arguments: dict[str, object], observation: str) -> Step:
    return Step(index=i, thought="", response="", action=ToolCall(name=name, arguments=arguments),
                observation=observation)


RECENT_STEPS = [  # a call per tool kind, a traceback with a loop note, a long argument, a reply without a call
    tool_step(0, "bash", {"command": "python -c 'import calc; print(calc.divide(7, 2))'"},
         "Exit code: 1\nExecution output of [bash]:\nTraceback (most recent call last):\n  File \"<string>\", line 1\n"
         "ZeroDivisionError: division by zero\n\n[You already ran this exact action and got this same output.]"),
    tool_step(1, "search", {"search_term": "divide"},
              "Execution output of [search]:\nFound 2 matches for 'divide' in .:\ncalc/ops.py:3: def divide(a, b):"),
    tool_step(2, "file_editor", {"command": "str_replace", "path": "calc/ops.py", "old_str": "return a / b",
                            "new_str": "return a // b  # " + "x" * 200},
         "Execution output of [file_editor]:\nThe file calc/ops.py has been edited."),
    tool_step(3, "bash", {"command": "python -m pytest -q"},
              "Exit code: 0\nExecution output of [bash]:\n3 passed in 0.1s"),
    Step(index=4, thought="", response="hmm", action=None, observation="", format_error=True),
]
