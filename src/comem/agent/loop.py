"""The agent loop: ask the model, run the tool, record the step, until submit or a limit.

The context strategy decides what the model sees; the loop never touches history itself. Tools run as
asyncio subprocesses, so a background memory call keeps progressing while the agent's tool runs.

Three guards keep a small model's episode meaningful. Every prompt is counted with the engine's own tokenizer
(where the engine offers one) and the episode ends `context_limit` before it would overflow the window, never as
an `llm_error`. On a llama.cpp engine the reply is sampled under a grammar built from the tool schemas, so every
reply is a well-formed call. An action repeated with an identical result gets a sharper note each time, and the
`max_repeats`-th identical one ends the episode (`repeat_limit`): a model that has seen the same output that often
is stuck, and the steps it has left are better spent on the next episode.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from comem.context.base import AgentContext, Clock, ContextStrategy
from comem.core.actions import parse_action
from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.records import ExitReason, Step, ToolCall, ToolResult
from comem.environment.base import Environment
from comem.environment.tools import tool_grammar
from comem.llm.base import LLM, ContextOverflow, EngineAware, EngineInfo, LLMError, LLMUnavailable

_DURATION = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|ms|sec|secs|seconds)\b")
_REFUSED = re.compile(r"Execution output of \[\w+\]:\nERROR: ")  # a tool refused the call (bash has exit codes)
_NUMBER = re.compile(r"\d+")


class AgentConfig(StrictModel):
    """The agent loop's limits and sampling (`loop:` in a run configuration)."""

    max_steps: int = Field(default=20, ge=1)
    max_prompt_tokens: int | None = Field(default=None, ge=1)  # a budget below the model's window (token_limit)
    max_wall_s: float | None = Field(default=None, gt=0)
    max_tokens: int = Field(default=512, ge=1)  # completion budget per agent call
    temperature: float = Field(default=0.7, ge=0)  # the paper's agents sampled (0.7-1.0); greedy small models loop
    max_format_errors: int = Field(default=5, ge=1)  # consecutive unparsable replies before giving up
    native_tools: bool = False  # send OpenAI `tools` (servers with a tool-call parser, e.g. vLLM)
    steps_left_warning: int = Field(default=3, ge=0)  # tell the agent how many steps remain once this few are left
    grammar: bool | None = None  # sample replies under the tool-call grammar; None: where the engine is llama.cpp
    max_repeats: int | None = Field(default=4, ge=2)  # the Nth identical action with an identical result ends it
    tools: Literal["default", "bash"] = "default"  # the tool set: bash, file_editor, search, submit; or bash, submit


@dataclass
class Outcome:
    exit_reason: ExitReason
    steps: list[Step] = field(default_factory=list)
    error: str | None = None


class Agent:
    def __init__(self, llm: LLM, env: Environment, strategy: ContextStrategy, config: AgentConfig,
                 clock: Clock, on_step: Callable[[Step], None] | None = None) -> None:
        self.llm, self.env, self.strategy, self.config, self.clock = llm, env, strategy, config, clock
        self.on_step = on_step or (lambda step: None)
        self.tool_names = [spec["function"]["name"] for spec in env.tool_specs]
        self._seen: Counter[tuple[str, str, str]] = Counter()  # (tool, arguments, output) -> times run

    async def run(self) -> Outcome:
        steps: list[Step] = []
        try:
            return await self._loop(steps)
        finally:
            await self.strategy.close()

    async def _loop(self, steps: list[Step]) -> Outcome:
        cfg, format_errors = self.config, 0
        engine = await self.llm.engine() if isinstance(self.llm, EngineAware) else EngineInfo()
        grammar = self._grammar(engine)
        tools = self.env.tool_specs if cfg.native_tools else None
        while True:
            n = len(steps)
            if n >= cfg.max_steps:
                return Outcome("step_limit", steps)
            if cfg.max_wall_s is not None and self.clock.now() > cfg.max_wall_s:
                return Outcome("time_limit", steps)
            started = self.clock.now()
            ctx = await self.strategy.context(steps)
            tokens = await self._prompt_tokens(ctx, steps, tools)
            if cfg.max_prompt_tokens is not None and tokens > cfg.max_prompt_tokens:
                return Outcome("token_limit", steps, f"the prompt is {tokens} tokens, above {cfg.max_prompt_tokens}")
            window = engine.context_window
            if window is not None and tokens + cfg.max_tokens > window:
                return Outcome("context_limit", steps, f"the prompt is {tokens} tokens: with {cfg.max_tokens} for "
                                                       f"the reply it would not fit the model's {window}-token window")
            try:
                done = await self.llm.chat(ctx.messages, max_tokens=cfg.max_tokens, temperature=cfg.temperature,
                                           tools=tools, **({"grammar": grammar} if grammar else {}))
            except ContextOverflow as exc:
                return Outcome("context_limit", steps, str(exc))
            except LLMUnavailable as exc:  # the server is gone: no result, the episode is to be run again
                return Outcome("llm_unreachable", steps, str(exc))
            except LLMError as exc:
                return Outcome("llm_error", steps, str(exc))
            parsed = parse_action(done, self.tool_names)
            result = ToolResult(output=parsed.error or "")
            if parsed.call is not None:
                result = await self.env.execute(parsed.call)
            format_errors = 0 if parsed.call else format_errors + 1
            repeats = self._count(parsed.call, result)
            step = Step(
                index=n, thought=parsed.thought, response=done.text, action=parsed.call,
                observation=result.output + self._repeat_note(repeats) + self._steps_left_note(n),
                format_error=parsed.call is None,
                prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
                cached_tokens=done.cached_tokens, agent_ttft_s=done.ttft_s, agent_total_s=done.total_s,
                tool_s=result.elapsed_s, memory_wait_s=ctx.memory_wait_s, context_messages=len(ctx.messages),
                context_chars=ctx.chars, summary_id=ctx.summary_id, raw_from=ctx.raw_from,
                started_s=started, finished_s=self.clock.now(),
            )
            steps.append(step)
            self.on_step(step)
            if result.done:
                return Outcome("submitted", steps)
            if format_errors >= cfg.max_format_errors:
                return Outcome("format_errors", steps, f"{format_errors} replies in a row had no tool call")
            if cfg.max_repeats is not None and repeats >= cfg.max_repeats:
                return Outcome("repeat_limit", steps, f"the same action gave the same result {repeats} times")

    def _grammar(self, engine: EngineInfo) -> str | None:
        """The tool-call grammar, where replies are text (not native tool calls) and the engine takes grammars."""
        wanted = self.config.grammar if self.config.grammar is not None else engine.grammar
        if not wanted or self.config.native_tools:
            return None
        try:
            return tool_grammar(self.env.tool_specs)
        except ValueError as exc:
            if self.config.grammar:
                raise ComemError(f"the tools cannot be written as a grammar: {exc}",
                                 fix="set loop.grammar: false.") from exc
            return None

    async def _prompt_tokens(self, ctx: AgentContext, steps: list[Step], tools: list[dict] | None) -> int:
        """The prompt's size in tokens: counted by the engine where it can; else its characters at the tokens per
        character the engine reported for the last prompt (10% spare); before any report, ~4 bytes a token."""
        if isinstance(self.llm, EngineAware):
            counted = await self.llm.count_tokens(ctx.messages, tools)
            if counted is not None:
                return counted
        last = next((s for s in reversed(steps) if s.prompt_tokens and s.context_chars), None)
        if last is None:
            return ctx.tokens_est
        return math.ceil(1.1 * ctx.chars * last.prompt_tokens / last.context_chars)

    def _count(self, call: ToolCall | None, result: ToolResult) -> int:
        """How many times this exact call has now given this same output, durations aside (`21 passed in 0.92s`
        is the same result as `in 0.71s`), and numbers aside where a tool refused the call; 0 for no call."""
        if call is None:
            return 0
        output = _DURATION.sub("<t>", result.output)
        arguments = json.dumps(call.arguments, sort_keys=True, default=str)
        if _REFUSED.match(output):  # a refused call that differs only in its numbers is the same mistake: the 1.5B
            # paged past the end of a 31-line file with 25 views, [8, 12], [12, 16], ..., each refused
            output, arguments = _NUMBER.sub("<n>", output), _NUMBER.sub("<n>", arguments)
        key = (call.name, arguments, output)
        self._seen[key] += 1
        return self._seen[key]

    def _repeat_note(self, repeats: int) -> str:
        """Small models loop on one action; each identical repeat gets a plainer note (the history keeps them)."""
        if repeats < 2:
            return ""
        limit = self.config.max_repeats
        last = limit is not None and repeats + 1 >= limit
        ending = " The next identical action ends the episode." if last else ""
        if repeats == 2:
            return ("\n\n[You already ran this exact action and got this same output. Repeating it will not change "
                    f"anything: do something different.{ending}]")
        return (f"\n\n[This exact action has now given this same output {repeats} times. Stop repeating it. Do "
                "something else: run the code the issue describes, search for a name, view another part of a file, "
                f"or edit the code.{ending}]")

    def _steps_left_note(self, n: int) -> str:
        left = self.config.max_steps - (n + 1)
        if 0 < left <= self.config.steps_left_warning:
            finish = next((n for n in ("submit", "submit_answer") if n in self.tool_names), "submit")
            return f"\n\n[{left} step{'s' if left > 1 else ''} left. Call {finish} once you are done.]"
        return ""
