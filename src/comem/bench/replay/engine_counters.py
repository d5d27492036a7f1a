"""Prefix-cache counters read from an engine's Prometheus `/metrics` (vLLM), for engines that report them.

llama.cpp reports cached tokens per request (`timings.cache_n`), which the client already records; vLLM
keeps running totals `vllm:prefix_cache_hits_total` / `vllm:prefix_cache_queries_total` (tokens) instead.
"""

from __future__ import annotations

import re

import httpx

_COUNTER = re.compile(r"^(vllm:prefix_cache_(?:hits|queries))(?:_total)?(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$")


def parse_prefix_counters(text: str) -> tuple[float, float] | None:
    """(hits, queries) summed over label sets, or None if the exposition has neither counter."""
    sums = {"vllm:prefix_cache_hits": 0.0, "vllm:prefix_cache_queries": 0.0}
    seen = False
    for line in text.splitlines():
        match = _COUNTER.match(line.strip())
        if match:
            sums[match[1]] += float(match[2])
            seen = True
    return (sums["vllm:prefix_cache_hits"], sums["vllm:prefix_cache_queries"]) if seen else None


async def read_prefix_counters(base_url: str, timeout_s: float = 5.0) -> tuple[float, float] | None:
    """Counters from `<server>/metrics`; None when the engine has no such endpoint or counters."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.get(f"{root}/metrics")
    except httpx.HTTPError:
        return None
    return parse_prefix_counters(resp.text) if resp.status_code == 200 else None


def hit_rate(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
