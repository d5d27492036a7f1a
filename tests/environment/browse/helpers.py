"""A real HTTP server on loopback that serves pages from routes, streams huge bodies and counts what it sent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class PageServer:
    """Serves `routes` by path (404 otherwise); `sent[path]` is how many body bytes reached the socket."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.sent: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                route = server.routes.get(self.path, Route(b"not found", "text/plain", 404))
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                chunks = [route.body] if isinstance(route.body, bytes) else route.body()
                server.sent[self.path] = 0
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        server.sent[self.path] += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: exactly what a size cap should do

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
