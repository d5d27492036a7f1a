"""Loopback stand-ins for the HTTP servers comem talks to (not a test module: tests and fixtures import it).

`LoopbackServer` is the one small server every stand-in is built on: a threaded HTTP/1.0 server on a free port of
127.0.0.1 that answers each GET and POST with `respond(request) -> Reply`, records every request, the most requests
it ever had in flight at once, and how many body bytes reached each path's client. On it:

- `StubServer`: an OpenAI-style server that answers with scripted replies in order (the last repeats), for the
  client's wire-level tests (streaming, retries, errors); `sse`, `delta` and `error_json` build the bodies.
- `OpenAIStandIn`: a chat-completions server whose reply text (or HTTP status) a function of the request decides.

The conftest's `stub` fixture makes `StubServer`s and closes them after the test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One HTTP answer: `body` is bytes, or a function giving chunks to stream (the count in `sent` stops where
    the client hung up); the answer is held back `delay_s` seconds while the request counts as in flight."""

    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str = "text/event-stream"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # load tests open many connections at once


class LoopbackServer:
    """Answers every request with `respond(request)`; `url` is the server's root. Close it, or use it as a context
    manager. A client that gives up mid-answer (timeout and size-cap tests) is expected, not an error."""

    def __init__(self, respond: Callable[[Request], Reply]) -> None:
        self.respond = respond
        self.seen: list[Request] = []
        self.in_flight = self.max_in_flight = 0
        self.sent: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # close after each answer: streams need no content-length

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers), body)
                with server._lock:
                    server.seen.append(request)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server.respond(request)
                    time.sleep(reply.delay_s)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                server.sent[self.path] = 0
                try:
                    for chunk in [reply.body] if isinstance(reply.body, bytes) else reply.body():
                        self.wfile.write(chunk)
                        server.sent[self.path] += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------- OpenAI-style


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def delta(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(extra)
    if content is not None:
        d["content"] = content
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


def error_json(status: int, message: str) -> Reply:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    return Reply(status=status, body=body, content_type="application/json")


class StubServer(LoopbackServer):
    """Serves `replies` in order (the last one repeats); `requests` holds each request's path, headers and JSON."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        super().__init__(lambda request: self.replies[min(len(self.seen), len(self.replies)) - 1])

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [{"path": r.path, "headers": r.headers, "json": r.json} for r in self.seen]


Responder = Callable[[dict[str, Any]], str | int | tuple[str, str]]


class OpenAIStandIn(LoopbackServer):
    """The streamed chat-completions protocol at `url` (ending in /v1): `responder(request_json)` returns the reply
    text, `(text, finish_reason)` (e.g. "length" for a reply cut at max_tokens), or an HTTP status to fail with;
    GET /v1/models lists `models` (health checks). `requests` holds the JSON of every chat request in arrival
    order; `delay_s` keeps requests open so they overlap."""

    def __init__(self, responder: Responder, *, delay_s: float = 0.0, models: Iterable[str] = ("stand-in",)) -> None:
        self.responder, self.delay_s, self.models = responder, delay_s, list(models)
        super().__init__(self._answer)
        self.url += "/v1"

    def _answer(self, request: Request) -> Reply:
        if request.method == "GET":
            return Reply(body=json.dumps({"data": [{"id": m} for m in self.models]}).encode(),
                         content_type="application/json")
        reply = self.responder(request.json)
        if isinstance(reply, int):
            return replace(error_json(reply, "rejected by the stand-in"), delay_s=self.delay_s)
        reply, finish = reply if isinstance(reply, tuple) else (reply, "stop")
        usage = {"usage": {"prompt_tokens": 10, "completion_tokens": len(reply.split())}, "choices": []}
        return Reply(body=sse(delta(reply), delta(finish=finish), usage), delay_s=self.delay_s)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [r.json for r in self.seen if r.method == "POST"]

    def prompts(self) -> list[str]:
        """The last message of every request, in arrival order."""
        return [r["messages"][-1]["content"] for r in self.requests]
