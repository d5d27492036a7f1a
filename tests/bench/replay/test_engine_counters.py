"""vLLM-style prefix-cache counters, read from a local stand-in `/metrics` endpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from comem.bench.replay.engine_counters import hit_rate, parse_prefix_counters, read_prefix_counters

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
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            found = self.path == "/metrics"
            body = EXPOSITION.encode() if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a client that gave up (timeout tests) breaks the pipe; that is expected, not worth a traceback
    server.handle_error = lambda request, client_address: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_reads_counters_from_the_server_root(metrics_server: str) -> None:
    assert asyncio.run(read_prefix_counters(metrics_server)) == (750.0, 1500.0)


def test_unreachable_or_missing_endpoint_gives_none(metrics_server: str) -> None:
    assert asyncio.run(read_prefix_counters("http://127.0.0.1:9/v1", timeout_s=1.0)) is None
    assert asyncio.run(read_prefix_counters(metrics_server.replace("/v1", "/nope/v1"))) is None
