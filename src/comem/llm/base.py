"""The one async interface every LLM backend implements, and the data that crosses it."""

from __future__ import annotations

from typing import Any, Protocol

from comem.core.records import Completion, Message


class LLMError(Exception):
    """A model call failed after retries (unreachable, timeout, HTTP error)."""


class LLMUnavailable(LLMError):
    """The server did not answer at all after retries (gone, unreachable, failing): infrastructure, not a reply of the
    model, so an episode it ends is no result."""


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
