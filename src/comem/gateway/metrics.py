"""The gateway's Prometheus metrics (`GET /metrics`), one registry per gateway so tests and apps never share one.

Token counts before and after rewriting are the gateway's own estimates (bytes / 4, as every context trigger in
comem); upstream prompt and cached tokens are what the upstream reported, where it reports them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from comem.core.records import MemoryRecord

disable_created_metrics()  # the `*_created` timestamps only double the page


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = reg = CollectorRegistry()
        self.requests = Counter("comem_gateway_requests", "Requests answered", ["protocol", "status", "rewritten"],
                                registry=reg)
        self.tokens = Counter("comem_gateway_prompt_tokens_estimate",
                              "Prompt size (bytes/4) as received (before) and as sent upstream (after)", ["stage"],
                              registry=reg)
        self.upstream_tokens = Counter("comem_gateway_upstream_tokens", "Tokens the upstream reported", ["kind"],
                                       registry=reg)
        self.memory_s = Counter("comem_gateway_memory_seconds",
                                "Memory-model time: hidden behind the agent, or exposed (a request waited)", ["kind"],
                                registry=reg)
        self.memory_updates = Counter("comem_gateway_memory_updates", "Memory updates by outcome", ["status"],
                                      registry=reg)
        self.queue_depth = Gauge("comem_gateway_memory_queue_depth", "Memory calls running or waiting", registry=reg)
        self.sessions = Gauge("comem_gateway_sessions", "Sessions held in memory", registry=reg)
        self.resyncs = Counter("comem_gateway_session_resyncs",
                               "Requests whose history did not extend the session's (edited, rewound, forked)",
                               registry=reg)
        self.overhead_s = Histogram("comem_gateway_overhead_seconds",
                                    "Time the gateway adds to a request before it is sent upstream", registry=reg,
                                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5))
        self.cancelled = Counter("comem_gateway_streams_cancelled", "Streams the client left before the end",
                                 registry=reg)

    def memory(self, record: MemoryRecord) -> None:
        self.memory_updates.labels(record.status).inc()
        if record.status == "ok":
            self.memory_s.labels("exposed").inc(record.exposed_wait_s)
            self.memory_s.labels("hidden").inc(record.hidden_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)
