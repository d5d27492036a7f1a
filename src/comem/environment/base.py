"""The contract between the agent loop and an environment: a tool call in, a tool result out."""

from __future__ import annotations

from typing import Any, Protocol

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


class Environment(Protocol):
    """Anything that executes tool calls; the local workspace is one implementation."""

    tool_specs: list[dict[str, Any]]

    async def execute(self, call: ToolCall) -> ToolResult: ...

    def diff(self) -> str: ...

    def close(self) -> None: ...
