"""The browser environment's tool dispatch: the argument contract, good calls, and bad calls as observations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.extras import reason

pytest.importorskip("bm25s", reason=reason("bm25s"))
pytest.importorskip("bs4", reason=reason("bs4"))

from comem.core.errors import ComemError
from comem.core.records import ToolCall, ToolResult
from comem.environment.browse.browser import BROWSE_TOOL_NAMES, BrowseLimits, BrowserEnv, open_browser
from comem.environment.browse.index import CorpusIndex
from tests.environment.browse.helpers import PageServer, Route
from tests.standin import Reply, StubServer

Run = Callable[..., ToolResult]


@pytest.fixture
def browser(mini_index: CorpusIndex) -> BrowserEnv:
    return BrowserEnv(mini_index, where="the document collection", corpus=mini_index, web_fetch=False)


def runner(env: BrowserEnv) -> Run:
    def run(name: str, **arguments: Any) -> ToolResult:
        return asyncio.run(env.execute(ToolCall(name=name, arguments=arguments)))

    return run


@pytest.fixture
def run(browser: BrowserEnv) -> Run:
    return runner(browser)


def _hits(result: ToolResult) -> list[dict[str, str]]:
    header, _, body = result.output.partition("\n")
    assert header == "Execution output of [search]:"
    return json.loads(body)


def test_tool_specs_keep_the_argument_contract(browser: BrowserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    def params(env: BrowserEnv) -> dict[str, tuple[list[str], list[str]]]:
        return {s["function"]["name"]: (list(s["function"]["parameters"]["properties"]),
                                        s["function"]["parameters"]["required"]) for s in env.tool_specs}

    assert params(browser) == {"search": (["q", "num"], ["q"]), "fetch": (["url"], ["url"]),
                               "submit_answer": (["answer"], ["answer"])}
    monkeypatch.setenv("SERPER_API_KEY", "k")
    web = open_browser(search="serper")
    assert params(web)["search"] == (["q", "num", "gl", "hl", "tbs"], ["q"])
    assert tuple(params(web)) == BROWSE_TOOL_NAMES and web.web_fetch


def test_search_returns_serper_shaped_json(run: Run) -> None:
    result = run("search", q="Salt Ledger novel lighthouse", num=3)
    hits = _hits(result)
    assert result.exit_code == 0 and not result.done and 1 <= len(hits) <= 3
    assert hits[0]["link"] == "https://books.orrin.example/the-salt-ledger"
    assert set(hits[0]) == {"title", "link", "snippet"}


def test_loose_arguments_are_coerced_and_serper_options_ignored_offline(run: Run) -> None:
    assert len(_hits(run("search", q="Orrin Coast", num="2", gl="us", hl="en", tbs="qdr:y"))) == 2
    assert len(_hits(run("search", q="Orrin Coast", num=2.0))) == 2
    assert "No results for 'zzzqqq'" in run("search", q="zzzqqq").output


def test_fetch_serves_a_corpus_document_by_its_url(run: Run) -> None:
    result = run("fetch", url="http://www.kelbyharbour.example/about/")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:3] == ["Execution output of [fetch]:", "Title: Kelby Harbour - Town Guide",
                         "URL: https://www.kelbyharbour.example/about"]
    assert "Every October the town holds the Quince Fair" in result.output and "var visits" not in result.output


def test_long_documents_are_cut_with_a_note(mini_index: CorpusIndex) -> None:
    env = BrowserEnv(mini_index, where="x", corpus=mini_index, web_fetch=False,
                     limits=BrowseLimits(max_page_chars=100))
    output = runner(env)("fetch", url="https://wiki.orrin.example/Ines_Varrow").output
    assert "[... truncated: showing the first 100 of" in output


def test_offline_fetch_of_an_unknown_url_is_an_observation(run: Run) -> None:
    result = run("fetch", url="https://elsewhere.example/page")
    assert result.exit_code == 1 and "no page at https://elsewhere.example/page in the document collection" in \
        result.output


def test_web_fetch_when_enabled(mini_index: CorpusIndex) -> None:
    server = PageServer({"/p": Route(b"<html><title>Live</title><p>From the web.</p></html>")})
    try:
        env = BrowserEnv(mini_index, where="x", corpus=mini_index, web_fetch=True)
        output = runner(env)("fetch", url=f"{server.url}/p").output
        assert f"Title: Live\nURL: {server.url}/p\n\nFrom the web." in output
        assert "HTTP 404" in runner(env)("fetch", url=f"{server.url}/gone").output
    finally:
        server.close()


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("search", {}, "ERROR: Missing required argument `q`.\nUsage: search(q: string, num?: integer)"),
        ("search", {"query": "quince"}, "Missing required argument `q`"),
        ("search", {"q": "  "}, "ERROR: `q` is empty."),
        ("search", {"q": "x", "num": 0}, "`num` must be between 1 and 100, got 0."),
        ("search", {"q": "x", "num": 500}, "`num` must be between 1 and 100, got 500."),
        ("search", {"q": "x", "num": "ten"}, "Argument `num` must be an integer, got 'ten'."),
        ("search", {"q": ["a", "b"]}, "Argument `q` must be a string, got list."),
        ("fetch", {}, "ERROR: Missing required argument `url`.\nUsage: fetch(url: string)"),
        ("fetch", {"url": "ftp://x.example/"}, "no page at ftp://x.example/"),
        ("submit_answer", {"answer": " "}, "ERROR: `answer` is empty.\nUsage: submit_answer(answer: string)"),
        ("submit_answer", {"_raw": "Quince"}, "Missing required argument `answer`"),
        ("google_search", {"q": "x"}, "Unknown tool `google_search`. Valid tools"),
    ],
)
def test_bad_calls_become_observations_that_show_the_valid_call(run: Run, browser: BrowserEnv, name: str,
                                                                arguments: dict[str, Any], expected: str) -> None:
    result = run(name, **arguments)
    assert expected in result.output and result.exit_code == 1 and not result.done
    assert browser.diff() == ""


def test_unknown_tool_lists_every_valid_call(run: Run) -> None:
    output = run("bash", command="ls").output
    for line in ("search(q: string, num?: integer)", "fetch(url: string)", "submit_answer(answer: string)"):
        assert line in output


def test_submit_answer_ends_the_episode_and_diff_is_the_answer(run: Run, browser: BrowserEnv) -> None:
    result = run("submit_answer", answer="  Quince ")
    assert result.done and result.exit_code == 0 and result.output.endswith("Answer submitted: Quince")
    assert browser.diff() == "Quince"
    assert run("submit_answer", answer=1903).done and browser.diff() == "1903"
    browser.close()


def test_a_slow_backend_times_out_as_an_observation(mini_index: CorpusIndex) -> None:
    class Stalled:
        options = ()

        async def search(self, q: str, num: int = 10, **options: str) -> list:
            await asyncio.sleep(5)
            return []

    env = BrowserEnv(Stalled(), where="x", limits=BrowseLimits(tool_timeout_s=0.2))
    result = runner(env)("search", q="anything")
    assert result.exit_code == 1 and "did not finish within 0.2 s" in result.output


def test_web_search_through_serper(stub: Callable[..., StubServer], monkeypatch: pytest.MonkeyPatch) -> None:
    organic = {"organic": [{"title": "Quince", "link": "https://q.example/", "snippet": "A fruit."}]}
    server = stub(Reply(body=json.dumps(organic).encode(), content_type="application/json"),
                         Reply(502, b"down", "text/plain"))
    monkeypatch.setenv("SERPER_API_KEY", "k")
    env = open_browser(search="serper", serper_url=server.url, limits=BrowseLimits(tool_timeout_s=5))
    env.backend.backoff_s = 0.01  # type: ignore[attr-defined]
    assert _hits(runner(env)("search", q="quince", gl="us")) == [organic["organic"][0]]
    assert server.requests[0]["json"] == {"q": "quince", "num": 10, "gl": "us"}
    failed = runner(env)("search", q="quince")
    assert failed.exit_code == 1 and failed.output.startswith("Execution output of [search]:\nERROR: Search is "
                                                              "unavailable")


def test_open_browser_needs_a_corpus_for_bm25_and_a_key_for_serper(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="needs a corpus folder"):
        open_browser(search="bm25")
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    with pytest.raises(ComemError, match="SERPER_API_KEY is not set"):
        open_browser(search="serper")
