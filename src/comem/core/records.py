"""The records every layer shares: a tool call and its result, chat messages and model replies, and what an
episode records (steps, memory updates, start and end).

They sit at the bottom of the package so that the LLM backends, the environments, the agent loop, the context
strategies and every application read and write the same types. The JSONL log they go to is `comem.core.jsonlog`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field


class ToolCall(BaseModel):
    """One parsed action. `id` is the native tool_call id when the model produced one."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class ToolResult(BaseModel):
    """What a tool returned. `output` is already size-capped and valid UTF-8."""

    output: str
    exit_code: int | None = None
    done: bool = False  # the agent submitted
    elapsed_s: float = 0.0


class Message(BaseModel):
    """A chat message in OpenAI shape; `tool_calls`/`tool_call_id` only for native tool calling."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class Completion(BaseModel):
    """One model answer plus what it cost. Times are wall-clock seconds seen by the client."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None  # prompt tokens served from the engine's prefix cache
    ttft_s: float = 0.0  # request sent -> first content token
    total_s: float = 0.0  # request sent -> last byte

    @property
    def decode_s(self) -> float:
        return max(0.0, self.total_s - self.ttft_s)


class StepTiming(BaseModel):
    """What one agent step cost, and which summary its prompt held: the fields every latency figure reads.

    `Step` extends it, so a trajectory line is flat and old files load unchanged; the benchmarks' rows extend it
    with where they ran (arm, concurrency, agent). Times in seconds: `started_s` is when the iteration began (before
    the memory wait), `finished_s` when its tool call ended, both on the episode's (or the run's) clock.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None  # prompt tokens served from the engine's prefix cache (None: not reported)
    agent_ttft_s: float = 0.0  # the agent call: request sent -> first token
    agent_total_s: float = 0.0  # the agent call: request sent -> last token
    tool_s: float = 0.0
    memory_wait_s: float = 0.0  # X_t: time the agent waited for the memory model before this step (exposed)
    summary_id: int | None = None  # the MemoryRecord whose summary was in the prompt, if any
    raw_from: int = 0  # raw steps raw_from..index-1 were verbatim in the prompt
    started_s: float = 0.0
    finished_s: float = 0.0

    @property
    def decode_s(self) -> float:
        return max(0.0, self.agent_total_s - self.agent_ttft_s)

    @property
    def latency_s(self) -> float:
        """T_t: what the agent waits for this step before it can act, memory wait + agent call (tool excluded)."""
        return self.memory_wait_s + self.agent_total_s

    @property
    def call_span(self) -> tuple[float, float]:
        """When the agent call ran: (request sent, last token)."""
        end = self.finished_s - self.tool_s
        return end - self.agent_total_s, end


class Step(StepTiming):
    """One agent turn: thought + action + observation, with what it cost (`StepTiming`) and what context produced
    it."""

    type: Literal["step"] = "step"
    index: int
    thought: str
    response: str  # the raw assistant text, replayed verbatim in later prompts
    action: ToolCall | None
    observation: str
    format_error: bool = False
    # context the agent saw
    context_messages: int = 0
    context_chars: int = 0

    @property
    def turn_text(self) -> str:
        """The agent's own turn as text: its reply and, if it called a tool, the call's arguments as JSON (what
        stays in the prompt of a `keep_calls` memory after the output is masked)."""
        return self.response + (" " + json.dumps(self.action.arguments, ensure_ascii=False) if self.action else "")


class MemoryTiming(BaseModel):
    """What one memory-model call cost and how much of it the agent waited for: the fields every memory figure
    reads. `MemoryRecord` extends it; so do the benchmarks' rows."""

    id: int
    covers: tuple[int, int]  # steps [start, end) — from_scratch always starts at 0
    launch_step: int  # the iteration n at which it was launched
    status: Literal["pending", "ok", "error", "superseded"] = "pending"
    input_tokens: int = 0  # as reported by the memory server (0 if it reports none)
    cached_tokens: int | None = None  # of those, served from its prefix cache (None: the server does not say)
    summary_tokens: int = 0
    launched_s: float = 0.0
    finished_s: float | None = None
    exposed_wait_s: float = 0.0  # time the agent actually blocked on this update

    @property
    def finished(self) -> bool:
        """The call ended, successfully or not, so its latency is known (superseded and pending calls did not)."""
        return self.status in ("ok", "error") and self.finished_s is not None

    @property
    def latency_s(self) -> float:
        return 0.0 if self.finished_s is None else self.finished_s - self.launched_s

    @property
    def hidden_s(self) -> float:
        return max(0.0, self.latency_s - self.exposed_wait_s)


MemoryView = Literal["summary", "ledger", "both", "recent"]  # what stands for the covered steps (context/memory.py)


class MemoryRecord(MemoryTiming):
    """One memory update: which steps it covers, what it cost (`MemoryTiming`), and what it produced."""

    type: Literal["memory"] = "memory"
    strategy: str
    mode: Literal["from_scratch", "incremental"]
    view: MemoryView = "summary"  # `summary` holds the recent view's text when this is "recent"
    installed_step: int | None = None
    error: str | None = None
    summary: str = ""
    ledger: str = ""  # the rendered ledger of steps [0, covers[1]) when the strategy keeps one (context/ledger.py)
    input_chars: int = 0
    covered_tokens_est: int = 0  # estimated tokens of the raw steps the summary replaces


ExitReason = Literal[
    "submitted", "step_limit", "token_limit", "time_limit", "llm_error", "format_errors", "interrupted",
    "session_end",  # a gateway session closed (idle, or the gateway stopped): the client's agent decides the end
    "context_limit",  # the next prompt would not fit the model's context window (counted by its tokenizer)
    "repeat_limit",  # the agent repeated an action with the same result AgentConfig.max_repeats times
    "error",  # the episode raised (a bug, a broken environment): recorded, but not a result
    "llm_unreachable",  # the agent's model server stopped answering: infrastructure, not a result
]
# Not results: left out of the figures, and a rerun into the same directory runs these episodes again.
UNFINISHED: tuple[ExitReason, ...] = ("error", "llm_unreachable")


class EpisodeStart(BaseModel):
    type: Literal["episode_start"] = "episode_start"
    instance_id: str
    strategy: str
    config: dict[str, Any] = Field(default_factory=dict)
    system_prompt: str
    task_prompt: str


class EpisodeEnd(BaseModel):
    type: Literal["episode_end"] = "episode_end"
    instance_id: str
    strategy: str
    exit_reason: ExitReason
    error: str | None = None
    steps: int
    resolved: bool | None = None  # None until graded
    grade_error: str | None = None
    grade_detail: dict[str, Any] = {}  # what the grader said beyond yes/no (a judge's reasoning, test results)
    patch: str = ""  # the agent's diff; its first MAX_STORED_PATCH_CHARS when it was longer (then the two below)
    patch_bytes: int | None = None  # the whole patch's UTF-8 size, when `patch` holds only its start
    patch_sha256: str | None = None  # and the whole patch's hash
    wall_s: float
    agent_s: float
    tool_s: float
    memory_wait_s: float
    max_prompt_tokens: int
    memory_updates: int

    @property
    def finished(self) -> bool:
        """A result to count (and skip on a rerun), not an episode cut short by something other than the agent."""
        return self.exit_reason not in UNFINISHED




