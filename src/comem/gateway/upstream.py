"""The server behind the gateway: one pooled HTTP client, the headers that cross, and what a stream reports.

Auth: when the gateway has its own key, clients send that key and the upstream gets `upstream.api_key` (if any);
without one, the client's own credentials pass through to the upstream untouched. Keys are never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import httpx

from comem.gateway.wire import Usage, Wire

# Not forwarded: hop-by-hop headers, ones httpx sets itself, the gateway's own.
_DROP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
         "proxy-authorization", "accept-encoding", "x-comem-session"}
_AUTH = {"authorization", "x-api-key"}
ANTHROPIC_VERSION = "2023-06-01"  # sent to an Anthropic upstream when a translated request has none
_KEEP_BACK = ("content-type", "x-request-id", "request-id", "openai-processing-ms", "retry-after")


class Upstream:
    def __init__(self, base_url: str, *, api_key: str | None, timeout_s: float, gateway_keyed: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key, self.gateway_keyed = api_key, gateway_keyed
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0),
                                        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))

    def headers(self, incoming: Mapping[str, str], *, translated_to: str | None = None) -> dict[str, str]:
        out = {k.lower(): v for k, v in incoming.items() if k.lower() not in _DROP}
        if self.gateway_keyed or self.api_key:
            out = {k: v for k, v in out.items() if k not in _AUTH}
        key = self.api_key or out.get("x-api-key") or out.get("authorization", "").removeprefix("Bearer ").strip()
        if key and (self.api_key or translated_to):  # a translated request carries the key the other way too
            out["authorization"], out["x-api-key"] = f"Bearer {key}", key
        if translated_to == "anthropic":
            out.setdefault("anthropic-version", ANTHROPIC_VERSION)
        return out

    def request(self, method: str, path: str, incoming: Mapping[str, str], content: bytes | None = None, *,
                translated_to: str | None = None) -> httpx.Request:
        return self.client.build_request(method, self.base_url + path, content=content,
                                         headers=self.headers(incoming, translated_to=translated_to))

    async def aclose(self) -> None:
        await self.client.aclose()


def response_headers(resp: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.lower() in _KEEP_BACK or k.lower().startswith("anthropic-")}


class StreamWatch:
    """Reads an SSE stream as it passes through: when the first content arrived, and the usage it reported."""

    def __init__(self, wire: Wire, started: float) -> None:
        self.wire, self.started = wire, started
        self.ttft_s: float | None = None
        self.usage = Usage()
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()[-65536:]  # an unfinished line (bounded: a junk stream cannot grow it)
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue  # [DONE] and anything else that is not an event
            if not isinstance(event, dict):
                continue
            if self.ttft_s is None and self.wire.has_content(event):
                self.ttft_s = time.perf_counter() - self.started
            usage = self.wire.usage(event)
            if usage is not None:
                self.usage = merge(self.usage, usage)


def merge(a: Usage, b: Usage) -> Usage:
    """Streams report usage in pieces (Anthropic: input at the start, output at the end): keep the largest."""
    cached = max(a.cached_tokens or 0, b.cached_tokens or 0) if None not in (a.cached_tokens, b.cached_tokens) \
        else (a.cached_tokens if b.cached_tokens is None else b.cached_tokens)
    return Usage(prompt_tokens=max(a.prompt_tokens, b.prompt_tokens),
                 completion_tokens=max(a.completion_tokens, b.completion_tokens), cached_tokens=cached)
