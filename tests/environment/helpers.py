"""Shared by the workspace tool tests: the type of the conftest's one-line tool caller (`call`)."""

from __future__ import annotations

from collections.abc import Callable

from comem.core.records import ToolResult

Call = Callable[..., ToolResult]
