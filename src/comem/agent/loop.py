"""The agent loop: ask the model, run the tool, record the step, until submit or a limit.

The context strategy decides what the model sees; the loop never touches history itself. Tools run as
asyncio subprocesses, so a background memory call keeps progressing while the agent's tool runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import Field

from comem.context.base import Clock, ContextStrategy
from comem.core.actions import parse_action
from comem.core.config import StrictModel
from comem.core.records import ExitReason, Step, ToolCall, ToolResult
from comem.environment.base import Environment
from comem.llm.base import LLM, LLMError, LLMUnavailable


class AgentConfig(StrictModel):
    """The agent loop's limits and sampling (`loop:` in a run configuration)."""

    max_steps: int = Field(default=20, ge=1)
    max_prompt_tokens: int | None = Field(default=16000, ge=1)  # stop before sending a prompt estimated above this
    max_wall_s: float | None = Field(default=None, gt=0)
    max_tokens: int = Field(default=512, ge=1)  # completion budget per agent call
    temperature: float = Field(default=0.7, ge=0)  # the paper's agents sampled (0.7-1.0); greedy small models loop
    max_format_errors: int = Field(default=5, ge=1)  # consecutive unparsable replies before giving up
    native_tools: bool = False  # send OpenAI `tools` (servers with a tool-call parser, e.g. vLLM)
    steps_left_warning: int = Field(default=3, ge=0)  # tell the agent how many steps remain once this few are left


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

    async def run(self) -> Outcome:
        steps: list[Step] = []
        try:
            return await self._loop(steps)
        finally:
            await self.strategy.close()

    async def _loop(self, steps: list[Step]) -> Outcome:
        cfg, format_errors = self.config, 0
        while True:
            n = len(steps)
            if n >= cfg.max_steps:
                return Outcome("step_limit", steps)
            if cfg.max_wall_s is not None and self.clock.now() > cfg.max_wall_s:
                return Outcome("time_limit", steps)
            started = self.clock.now()
            ctx = await self.strategy.context(steps)
            if cfg.max_prompt_tokens is not None and ctx.tokens_est > cfg.max_prompt_tokens:
                return Outcome("token_limit", steps, f"prompt estimate above {cfg.max_prompt_tokens} tokens")
            try:
                done = await self.llm.chat(
                    ctx.messages, max_tokens=cfg.max_tokens, temperature=cfg.temperature,
                    tools=self.env.tool_specs if cfg.native_tools else None,
                )
            except LLMUnavailable as exc:  # the server is gone: no result, the episode is to be run again
                return Outcome("llm_unreachable", steps, str(exc))
            except LLMError as exc:
                return Outcome("llm_error", steps, str(exc))
            parsed = parse_action(done, self.tool_names)
            result = ToolResult(output=parsed.error or "")
            if parsed.call is not None:
                result = await self.env.execute(parsed.call)
            format_errors = 0 if parsed.call else format_errors + 1
            step = Step(
                index=n, thought=parsed.thought, response=done.text, action=parsed.call,
                observation=result.output + self._repeat_note(steps, parsed.call) + self._steps_left_note(n),
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

    @staticmethod
    def _repeat_note(steps: list[Step], call: ToolCall | None) -> str:
        """Small models loop on one failing action; say so plainly (the history keeps it)."""
        if call is None or not steps or steps[-1].action is None:
            return ""
        last = steps[-1].action
        if (last.name, last.arguments) == (call.name, call.arguments):
            return "\n\n[You already ran this exact action in the previous step. Try something different.]"
        return ""

    def _steps_left_note(self, n: int) -> str:
        left = self.config.max_steps - (n + 1)
        if 0 < left <= self.config.steps_left_warning:
            finish = next((n for n in ("submit", "submit_answer") if n in self.tool_names), "submit")
            return f"\n\n[{left} step{'s' if left > 1 else ''} left. Call {finish} once you are done.]"
        return ""
