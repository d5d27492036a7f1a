"""Google search through the Serper API (`POST /search`), and the organic-result shape every search backend returns.

Configuration problems (no key, a rejected key) are `ComemError`s: every later call would fail the same way, so
the run should stop. Everything else (server down, overloaded, a query Serper refuses) is a `SearchFailed`
the agent reads as an observation and can work around.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from pydantic import BaseModel

from comem.core.errors import ComemError
from comem.core.secrets import secret
from comem.environment.tools import ToolError

SERPER_URL = "https://google.serper.dev"
SERPER_OPTIONS = ("gl", "hl", "tbs")  # passed through to Serper as given
# Benchmark copies (questions with answers) live on Hugging Face; finding them is not research.
_LEAKS = re.compile(r"huggingface\.co/(datasets|spaces)/", re.IGNORECASE)


class SearchHit(BaseModel):
    """One organic result, in Serper's field names."""

    title: str
    link: str
    snippet: str = ""
    date: str | None = None


class SearchFailed(ToolError):
    """A search that failed for reasons outside the agent's query syntax; shown to the agent."""


class SerperClient:
    """Serper's `/search` with retries on 429/5xx/network errors. `base_url` points tests at a stand-in."""

    options = SERPER_OPTIONS

    def __init__(self, api_key: str | None = None, *, base_url: str = SERPER_URL, timeout_s: float = 30.0,
                 max_retries: int = 3, backoff_s: float = 1.0) -> None:
        key = api_key or (secret("SERPER_API_KEY") or "").strip()
        if not key:
            raise ComemError("Web search needs a Serper API key, and SERPER_API_KEY is not set.",
                             fix="export SERPER_API_KEY=<your key from serper.dev>, or search a local corpus (bm25).")
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    async def search(self, q: str, num: int = 10, **options: str) -> list[SearchHit]:
        """Organic results; a quoted query that finds nothing is retried without quotes (as the original did)."""
        hits = await self._search(q, num, options)
        if not hits and '"' in q:
            hits = await self._search(q.replace('"', ""), num, options)
        return hits

    async def _search(self, q: str, num: int, options: dict[str, str]) -> list[SearchHit]:
        payload = {"q": q, "num": num, **{k: v for k, v in options.items() if k in SERPER_OPTIONS and v}}
        data = await self._post(payload)
        hits = []
        for item in data.get("organic") or []:
            if isinstance(item, dict) and item.get("link") and not _LEAKS.search(str(item["link"])):
                hits.append(SearchHit(title=str(item.get("title") or ""), link=str(item["link"]),
                                      snippet=str(item.get("snippet") or ""),
                                      date=str(item["date"]) if item.get("date") else None))
        return hits

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/search"
        headers = {"X-API-KEY": self._key, "Content-Type": "application/json"}
        problem = ""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for attempt in range(self.max_retries + 1):
                if attempt:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    response = await client.post(url, json=payload, headers=headers)
                except httpx.HTTPError as error:
                    problem = f"cannot reach {url} ({type(error).__name__})"
                    continue
                if response.status_code in (401, 403):
                    raise ComemError(f"Serper rejected the API key (HTTP {response.status_code}): {_message(response)}",
                                     fix="check SERPER_API_KEY (and your Serper credit balance).")
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"{url} answered HTTP {response.status_code}: {_message(response)}"
                    continue
                if response.status_code >= 400:
                    raise SearchFailed(f"Search refused the query (HTTP {response.status_code}): {_message(response)}")
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise SearchFailed(f"Search failed: {url} sent a body that is not a JSON object.")
                return data
        raise SearchFailed(f"Search is unavailable: {problem} after {self.max_retries + 1} attempts. "
                           "Try again later or fetch a page you already know.")


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)[:300]
    return str(data)[:300]
