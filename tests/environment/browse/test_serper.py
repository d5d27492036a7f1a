"""The Serper client against a stand-in server on loopback: results, key errors, retries, outages."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from comem.core.errors import ComemError
from comem.environment.browse.serper import SearchFailed, SearchHit, SerperClient
from tests.standin import Reply, error_json

ORGANIC = {
    "searchParameters": {"q": "quince fair", "type": "search"},
    "organic": [
        {"title": "Quince Fair", "link": "https://kelby.example/fair", "snippet": "Every October.", "position": 1},
        {"title": "Leak", "link": "https://huggingface.co/datasets/someone/browsecomp", "snippet": "answers"},
        {"title": "Dated", "link": "https://news.example/q", "snippet": "News.", "date": "Mar 3, 2021", "position": 3},
        {"title": "No link"},
    ],
}


def ok(data: dict[str, Any]) -> Reply:
    return Reply(body=json.dumps(data).encode(), content_type="application/json")


def _search(client: SerperClient, q: str = "quince fair", num: int = 10, **options: str) -> list[SearchHit]:
    return asyncio.run(client.search(q, num, **options))


def test_organic_results_come_back_as_hits_without_dataset_leaks(stub: Any) -> None:
    server = stub(ok(ORGANIC))
    hits = _search(SerperClient("k3y", base_url=server.url), num=5, gl="uk", hl="en", tbs="qdr:y")
    assert hits == [
        SearchHit(title="Quince Fair", link="https://kelby.example/fair", snippet="Every October."),
        SearchHit(title="Dated", link="https://news.example/q", snippet="News.", date="Mar 3, 2021"),
    ]
    request = server.requests[0]
    assert request["path"] == "/search" and request["headers"]["X-API-KEY"] == "k3y"
    assert request["json"] == {"q": "quince fair", "num": 5, "gl": "uk", "hl": "en", "tbs": "qdr:y"}


def test_the_key_comes_from_the_environment(stub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERPER_API_KEY", "from-env")
    server = stub(ok(ORGANIC))
    _search(SerperClient(base_url=server.url))
    assert server.requests[0]["headers"]["X-API-KEY"] == "from-env"


def test_no_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    with pytest.raises(ComemError, match="SERPER_API_KEY is not set") as error:
        SerperClient()
    assert "export SERPER_API_KEY" in error.value.fix


def test_a_rejected_key_stops_at_once(stub: Any) -> None:
    server = stub(Reply(401, b'{"message": "Unauthorized.", "statusCode": 401}', "application/json"))
    with pytest.raises(ComemError, match=r"rejected the API key \(HTTP 401\): Unauthorized\.") as error:
        _search(SerperClient("bad", base_url=server.url, backoff_s=0))
    assert not isinstance(error.value, SearchFailed) and len(server.requests) == 1


def test_server_errors_are_retried(stub: Any) -> None:
    server = stub(error_json(500, "boom"), Reply(503, b"busy", "text/plain"), ok(ORGANIC))
    hits = _search(SerperClient("k", base_url=server.url, backoff_s=0.01))
    assert len(server.requests) == 3 and hits[0].title == "Quince Fair"


def test_persistent_server_errors_are_a_search_failure_for_the_agent(stub: Any) -> None:
    server = stub(error_json(502, "bad gateway"))
    with pytest.raises(SearchFailed, match=r"HTTP 502.*after 3 attempts"):
        _search(SerperClient("k", base_url=server.url, max_retries=2, backoff_s=0.01))
    assert len(server.requests) == 3


def test_an_unreachable_server_is_a_clear_search_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SearchFailed, match=rf"cannot reach http://127.0.0.1:{port}/search \(ConnectError\)"):
        _search(SerperClient("k", base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff_s=0.01))


def test_a_refused_query_and_a_non_json_body_are_search_failures(stub: Any) -> None:
    server = stub(Reply(400, b'{"message": "Invalid tbs"}', "application/json"),
                         Reply(200, b"<html>", "text/html"))
    client = SerperClient("k", base_url=server.url, backoff_s=0)
    with pytest.raises(SearchFailed, match=r"refused the query \(HTTP 400\): Invalid tbs"):
        _search(client, tbs="nonsense")
    with pytest.raises(SearchFailed, match="not a JSON object"):
        _search(client)


def test_a_quoted_query_without_results_is_retried_without_quotes(stub: Any) -> None:
    server = stub(ok({"organic": []}), ok(ORGANIC))
    hits = _search(SerperClient("k", base_url=server.url), q='"quince fair" kelby')
    assert [r["json"]["q"] for r in server.requests] == ['"quince fair" kelby', "quince fair kelby"]
    assert hits[0].title == "Quince Fair"
