"""The contract between the agent loop and an environment: a tool call in, a tool result out."""

from __future__ import annotations

from typing import Any, Protocol

from comem.core.records import ToolCall, ToolResult


class Environment(Protocol):
    """Anything that executes tool calls; the local workspace is one implementation."""

    tool_specs: list[dict[str, Any]]

    async def execute(self, call: ToolCall) -> ToolResult: ...

    def diff(self) -> str: ...

    def close(self) -> None: ...
