"""Fixtures for the browse tools: the mini corpus indexed into a per-session cache, page and Serper stand-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from comem.environment.browse.index import CorpusIndex, open_index
from comem.tasks.browsecomp import mini_suite_dir
from tests.environment.browse.helpers import PageServer, Route


@pytest.fixture(scope="session")
def mini_corpus() -> Path:
    return mini_suite_dir() / "corpus"


@pytest.fixture(scope="session")
def mini_index(mini_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    return open_index(mini_corpus, tmp_path_factory.mktemp("bm25"))


@pytest.fixture
def page_server() -> Iterator[Callable[[dict[str, Route]], PageServer]]:
    servers: list[PageServer] = []

    def make(routes: dict[str, Route]) -> PageServer:
        servers.append(PageServer(routes))
        return servers[-1]

    yield make
    for server in servers:
        server.close()

