"""Fixtures shared across the test tree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.llm.test_llm_openai_http import Reply, StubServer


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
def clean_task_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources registered by a test are forgotten after it."""
    from comem.tasks import sources

    monkeypatch.setattr(sources, "_SOURCES", dict(sources._SOURCES))
