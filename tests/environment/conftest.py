"""Shared fixtures: a small real repository, a workspace copied from it, and a one-line tool caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from comem.core.records import ToolCall, ToolResult
from comem.environment.workspace import Workspace
from tests.environment.helpers import Call


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "mod.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    (repo / "README.md").write_text("# proj\nadd and sub\n")
    (repo / "pkg" / "__pycache__").mkdir()
    (repo / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0junk")
    (repo / ".pytest_cache").mkdir()
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/elsewhere\n")
    return repo


@pytest.fixture
def workspace(repo: Path) -> Iterator[Workspace]:
    with Workspace.create(repo, bash_timeout_s=10) as ws:
        yield ws


@pytest.fixture
def call(workspace: Workspace) -> Call:
    def run(name: str, **arguments: object) -> ToolResult:
        return asyncio.run(workspace.execute(ToolCall(name=name, arguments=arguments)))

    return run
