"""Fixtures shared across the test tree. Stand-in servers live in tests/standin.py, helpers next to their tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standin import Reply, StubServer


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's rich console wraps at 80 columns where no terminal is attached, so a long temporary path in a
    message can split the words a test looks for; read wide, each message stays on its lines (a test may set its
    own COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "400")


@pytest.fixture
def stub() -> Iterator[Any]:
    """A loopback OpenAI-style stand-in factory: each server answers with the given replies in order (the last
    repeats) and records the requests; all are closed after the test."""
    servers: list[StubServer] = []

    def make(*replies: Reply) -> StubServer:
        servers.append(StubServer(list(replies)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def calc_package(tmp_path: Path) -> Path:
    """A tiny real package (src layout, pytest and unittest tests) for task synthesis: tasks/synth and cli/synth."""
    from tests.tasks.synth.helpers import calc_files, make_package

    return make_package(tmp_path / "calc", calc_files())


@pytest.fixture
def clean_task_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources registered by a test are forgotten after it."""
    from comem.tasks import sources

    monkeypatch.setattr(sources, "_SOURCES", dict(sources._SOURCES))
