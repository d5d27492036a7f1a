"""The research environment: `search`, `fetch` and `submit_answer`, over the web or a local corpus.

Argument names are a contract: the trained memory model's reward compares the agent's `q`, `num`, `gl`, `hl`,
`tbs`, `url` and `answer` with recorded actions (docs/method.md §7). As in the workspace, a bad call never raises:
it becomes an observation that says what was wrong and shows the valid call.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from comem.core.errors import ComemError
from comem.core.records import ToolCall, ToolResult
from comem.environment.browse.fetch import MAX_BYTES, MAX_CHARS, Page, cap_chars, fetch_page
from comem.environment.browse.index import CorpusIndex, open_index
from comem.environment.browse.serper import SERPER_URL, SearchHit, SerperClient
from comem.environment.tools import ToolArgumentError, ToolError, function_tool, int_arg, text_arg, usage, valid_tools

BROWSE_TOOL_NAMES = ("search", "fetch", "submit_answer")
MAX_NUM = 100
_OPTION_HELP = {
    "gl": "Country of the results as a two-letter code, e.g. us.",
    "hl": "Language of the results, e.g. en.",
    "tbs": "Time filter, e.g. qdr:y for the past year.",
}


class SearchBackend(Protocol):
    options: tuple[str, ...]  # extra arguments the backend understands, shown in the tool spec

    async def search(self, q: str, num: int = 10, **options: str) -> list[SearchHit]: ...


def build_browse_tool_specs(where: str, options: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """OpenAI function-tool schemas for the three tools; `where` says what `search` searches."""
    search_params: dict[str, Any] = {
        "q": {"type": "string", "description": 'The query: a few distinctive keywords; "exact phrases" in quotes.'},
        "num": {"type": "integer", "description": f"How many results to return, 1 to {MAX_NUM} (default 10)."},
    }
    search_params.update({name: {"type": "string", "description": _OPTION_HELP[name]} for name in options})
    return [
        function_tool("search", f"Search {where}. Returns a JSON list of results, each with title, link and snippet.",
                  search_params, ["q"]),
        function_tool("fetch", "Read a page: returns its title and its text (long pages are cut).",
                  {"url": {"type": "string", "description": "The page's link, as given in the search results."}},
                  ["url"]),
        function_tool("submit_answer", "Give the final answer and end the task. Call it once, when you are confident.",
                  {"answer": {"type": "string",
                              "description": "Just the answer: a name, number, date or short phrase."}},
                  ["answer"]),
    ]


def render_hits(q: str, hits: list[SearchHit]) -> str:
    if not hits:
        return f"No results for {q!r}. Try fewer or different keywords."
    return json.dumps([hit.model_dump(exclude_none=True) for hit in hits], indent=1, ensure_ascii=False)


@dataclass(frozen=True)
class BrowseLimits:
    tool_timeout_s: float = 60.0
    max_page_bytes: int = MAX_BYTES
    max_page_chars: int = MAX_CHARS


class BrowserEnv:
    """Implements the `Environment` protocol; `diff()` is the submitted answer ("" before one)."""

    def __init__(self, backend: SearchBackend, *, where: str, corpus: CorpusIndex | None = None,
                 web_fetch: bool = True, limits: BrowseLimits | None = None) -> None:
        self.backend = backend
        self.where = where
        self.corpus = corpus
        self.web_fetch = web_fetch
        self.limits = limits or BrowseLimits()
        self.tool_specs: list[dict[str, Any]] = build_browse_tool_specs(where, backend.options)
        self.answer: str | None = None

    async def execute(self, call: ToolCall) -> ToolResult:
        start = time.monotonic()
        result = await self._dispatch(call)
        result.elapsed_s = time.monotonic() - start
        return result

    async def _dispatch(self, call: ToolCall) -> ToolResult:
        name, args = call.name, call.arguments
        if name not in BROWSE_TOOL_NAMES:
            return ToolResult(output=f"Unknown tool `{name}`. {valid_tools(self.tool_specs)}", exit_code=1)
        try:
            if name == "submit_answer":
                return self._submit(args)
            async with asyncio.timeout(self.limits.tool_timeout_s):
                output = await (self._search(args) if name == "search" else self._fetch(args))
        except ToolArgumentError as error:
            output = f"ERROR: {error}\nUsage: {usage(self.tool_specs, name)}"
        except ToolError as error:
            output = f"ERROR: {error}"
        except TimeoutError:
            output = f"ERROR: `{name}` did not finish within {self.limits.tool_timeout_s:g} s. Try again or move on."
        else:
            return ToolResult(output=f"Execution output of [{name}]:\n{output}", exit_code=0)
        return ToolResult(output=f"Execution output of [{name}]:\n{output}", exit_code=1)

    async def _search(self, args: dict[str, Any]) -> str:
        q = (text_arg(args, "q", required=True) or "").strip()
        if not q:
            raise ToolArgumentError("`q` is empty.")
        num = int_arg(args, "num")
        num = 10 if num is None else num
        if not 1 <= num <= MAX_NUM:
            raise ToolArgumentError(f"`num` must be between 1 and {MAX_NUM}, got {num}.")
        options = {key: value for key in self.backend.options
                   if (value := (text_arg(args, key, required=False) or "").strip())}
        return render_hits(q, await self.backend.search(q, num, **options))

    async def _fetch(self, args: dict[str, Any]) -> str:
        url = (text_arg(args, "url", required=True) or "").strip()
        if not url:
            raise ToolArgumentError("`url` is empty.")
        doc = self.corpus.lookup(url) if self.corpus else None
        if doc is not None:
            text = await asyncio.to_thread(self.corpus.text, doc)  # type: ignore[union-attr]
            return Page(url=doc.url, title=doc.title, text=cap_chars(text, self.limits.max_page_chars)).render()
        if not self.web_fetch:
            raise ToolError(f"There is no page at {url} in the document collection. "
                            "Fetch a link exactly as a search result gave it.")
        page = await fetch_page(url, max_bytes=self.limits.max_page_bytes, max_chars=self.limits.max_page_chars,
                                timeout_s=self.limits.tool_timeout_s)
        return page.render()

    def _submit(self, args: dict[str, Any]) -> ToolResult:
        answer = (text_arg(args, "answer", required=True) or "").strip()
        if not answer:
            raise ToolArgumentError("`answer` is empty.")
        self.answer = answer
        return ToolResult(output=f"Execution output of [submit_answer]:\nAnswer submitted: {answer}", exit_code=0,
                          done=True)

    def diff(self) -> str:
        return self.answer or ""

    def close(self) -> None:
        """Nothing to release: every request opens and closes its own connection."""


def open_browser(*, search: Literal["bm25", "serper"], corpus: Path | None = None, web_fetch: bool | None = None,
                 serper_url: str = SERPER_URL, index_cache_dir: Path | None = None,
                 limits: BrowseLimits | None = None) -> BrowserEnv:
    """A browser over a local corpus (`bm25`) or the web (`serper`). `web_fetch` defaults to on for the web only.

    With a corpus, `fetch` serves corpus documents by url in both modes, so a local mirror answers first.
    """
    index = open_index(corpus, index_cache_dir) if corpus is not None else None
    if search == "bm25":
        if index is None:
            raise ComemError("Local (bm25) search needs a corpus folder, and this task has none.",
                             fix="Give the task a corpus folder, or search the web with serper (SERPER_API_KEY).")
        return BrowserEnv(index, where="the document collection", corpus=index,
                          web_fetch=bool(web_fetch), limits=limits)
    limits = limits or BrowseLimits()
    client = SerperClient(base_url=serper_url, timeout_s=limits.tool_timeout_s)
    return BrowserEnv(client, where="the web with Google", corpus=index,
                      web_fetch=True if web_fetch is None else web_fetch, limits=limits)
