"""The one async interface every LLM backend implements, and the data that crosses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from comem.core.records import Completion, Message


class LLMError(Exception):
    """A model call failed after retries (unreachable, timeout, HTTP error)."""


class ContextOverflow(LLMError):
    """The server refused the prompt as longer than its context window (not a failure of the server)."""


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
        grammar: str | None = None,  # a GBNF grammar the reply must match (llama.cpp engines only)
    ) -> Completion: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class EngineAware(Protocol):
    """A backend that can say what its engine is and count a prompt's tokens exactly with the engine's tokenizer."""

    async def engine(self) -> EngineInfo: ...

    async def count_tokens(self, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> int | None:
        ...


@dataclass(frozen=True)
class EngineInfo:
    """What the engine behind a backend told about itself; None where it did not say."""

    context_window: int | None = None  # tokens per request (prompt + completion)
    grammar: bool = False  # accepts a GBNF `grammar` with a chat request (llama.cpp)

