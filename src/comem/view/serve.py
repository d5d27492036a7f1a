"""Serving the viewer: loopback by default, any other address only with an API key, on a socket bound before
the server starts (so a free port is known, printed, and accepting before a browser is pointed at it)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import uvicorn

from comem.core.config import is_loopback
from comem.core.errors import ComemError
from comem.view.server import create_app


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ComemError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}).",
                         fix="pick another --port, or leave it out for a free one.") from None
    sock.listen(64)
    return sock


class ViewServer:
    """The viewer of `root` on `host:port` (0: a free port). `serve()` runs it in the foreground until Ctrl-C;
    as a context manager it runs in a thread (tests, benchmarks)."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        if not is_loopback(host) and not api_key:
            raise ComemError(f"Refusing to serve {root} on {host} without an API key: anyone who reaches the "
                             "address could read the run.",
                             fix="pass --api-key KEY (every request must then carry it), or serve on 127.0.0.1.")
        app = create_app(root, api_key)
        self.sock = bind(host, port)
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.url = f"http://{shown}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self._thread: threading.Thread | None = None

    def serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def __enter__(self) -> ViewServer:
        self._thread = threading.Thread(target=self.serve, name="comem-view", daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.sock.close()
