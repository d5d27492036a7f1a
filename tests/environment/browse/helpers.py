"""A page server for the browse tools, on the shared loopback base (tests/standin.py): serves pages from routes,
streams huge bodies and counts what it sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.standin import LoopbackServer, Reply, Request


@dataclass
class Route:
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class PageServer(LoopbackServer):
    """Serves `routes` by path (404 otherwise); `sent[path]` is how many body bytes reached the socket."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        super().__init__(self._page)

    def _page(self, request: Request) -> Reply:
        route = self.routes.get(request.path, Route(b"not found", "text/plain", 404))
        return Reply(status=route.status, body=route.body, content_type=route.content_type, headers=route.headers)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [{"path": r.path, "headers": r.headers} for r in self.seen]
