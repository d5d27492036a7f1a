"""The one async interface every LLM backend implements, and the data that crosses it."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from comem.environment.base import ToolCall


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


class LLMError(Exception):
    """A model call failed after retries (unreachable, timeout, HTTP error)."""


class LLM(Protocol):
    """Anything that answers chat requests: an OpenAI-compatible server, or a scripted test model."""

    model: str

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion: ...

    async def aclose(self) -> None: ...
