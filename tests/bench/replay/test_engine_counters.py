"""vLLM-style prefix-cache counters, read from a local stand-in `/metrics` endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from comem.bench.replay.engine_counters import hit_rate, parse_prefix_counters, read_prefix_counters
from tests.standin import LoopbackServer, Reply, Request

EXPOSITION = """# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
vllm:prefix_cache_queries_total{engine="1",model_name="m"} 500.0
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 600.0
vllm:prefix_cache_hits_total{engine="1",model_name="m"} 150.0
vllm:num_requests_running{model_name="m"} 2.0
"""


def test_parse_sums_label_sets_and_ignores_other_metrics() -> None:
    assert parse_prefix_counters(EXPOSITION) == (750.0, 1500.0)
    assert parse_prefix_counters("llamacpp:prompt_tokens_total 5\n") is None


def test_hit_rate_is_the_ratio_of_increments() -> None:
    assert hit_rate((100.0, 200.0), (400.0, 600.0)) == pytest.approx(0.75)
    assert hit_rate(None, (1.0, 2.0)) is None and hit_rate((1.0, 2.0), (1.0, 2.0)) is None


@pytest.fixture
def metrics_server() -> Iterator[str]:
    """A server's `/v1` URL whose root serves EXPOSITION at /metrics (404 elsewhere)."""

    def metrics(request: Request) -> Reply:
        if request.path == "/metrics":
            return Reply(body=EXPOSITION.encode(), content_type="text/plain; version=0.0.4")
        return Reply(status=404, body=b"not found", content_type="text/plain")

    with LoopbackServer(metrics) as server:
        yield f"{server.url}/v1"


def test_reads_counters_from_the_server_root(metrics_server: str) -> None:
    assert asyncio.run(read_prefix_counters(metrics_server)) == (750.0, 1500.0)


def test_unreachable_or_missing_endpoint_gives_none(metrics_server: str) -> None:
    assert asyncio.run(read_prefix_counters("http://127.0.0.1:9/v1", timeout_s=1.0)) is None
    assert asyncio.run(read_prefix_counters(metrics_server.replace("/v1", "/nope/v1"))) is None
