"""The viewer's web app: one route per page, each reading the directory afresh (a live session shows its new
steps on the next poll), with the run's report cached until a results file changes.

Every page is found through the directory's index (`load.index_run`), so a request names an arm and a
trajectory the index listed, never a file path: nothing outside the directory can be served. With an API key,
every request must carry it (`X-API-Key`, `Authorization: Bearer`, or `?key=` once, kept in a cookie).
"""

from __future__ import annotations

import hmac
import threading
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from comem.eval.results import RESULTS_FILE
from comem.view import pages
from comem.view.load import index_run, kind_of, load_episode, stamp
from comem.view.render import Renderer

COOKIE = "comem_view_key"


class ReportCache:
    """The report of a run, computed in a thread (retention over long spans takes a while on large runs: the
    grid shows at once and the page reloads when the figures are ready), again only when a results file
    changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._report: pages.Report | None = None
        self._worker: threading.Thread | None = None

    def get(self, arms: list[str]) -> pages.Report | None:
        """The report for the results as they are now, or None while it is being computed."""
        key = tuple((arm, stamp(self.root / arm / RESULTS_FILE)) for arm in arms)
        with self._lock:
            if key != self._key and (self._worker is None or not self._worker.is_alive()):
                self._key, self._report = key, None
                self._worker = threading.Thread(target=self._compute, name="comem-view-report", daemon=True)
                self._worker.start()
            return self._report

    def _compute(self) -> None:
        report = pages.run_report(self.root)
        with self._lock:
            self._report = report

    @property
    def stamp(self) -> str:
        return "ready" if self._report is not None else "pending"


def _given_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    bearer = auth[7:] if auth.lower().startswith("bearer ") else None
    return (request.headers.get("x-api-key") or bearer or request.query_params.get("key")
            or request.cookies.get(COOKIE))


def create_app(root: Path, api_key: str | None = None) -> FastAPI:
    """The viewer of `root` (a run, gateway or replay directory; a ComemError if it is none of them)."""
    root = root.resolve()
    kind = kind_of(root)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    html = Renderer()
    reports = ReportCache(root)

    @app.middleware("http")
    async def require_key(request: Request, call_next) -> Response:
        if api_key is None:
            return await call_next(request)
        given = _given_key(request)
        if given is None or not hmac.compare_digest(given.encode(), api_key.encode()):
            return PlainTextResponse("comem view: this viewer needs its API key (header X-API-Key, "
                                     "Authorization: Bearer KEY, or ?key=KEY once).", status_code=401)
        response = await call_next(request)
        if request.query_params.get("key"):
            response.set_cookie(COOKIE, api_key, httponly=True, samesite="strict")
        return response

    def missing(message: str) -> HTMLResponse:
        return HTMLResponse(html.page("missing.html", title="not found", root=str(root), message=message),
                            status_code=404)

    @app.get("/", response_class=HTMLResponse)
    def overview(page: int = 1) -> Response:
        if kind == "replay":
            data = pages.replay_page(root, pages.load_replay(root), None)
            return HTMLResponse(html.page("replay.html", **data))
        index = index_run(root)
        pages_total = max(1, -(-len(index.keys()) // pages.PAGE_SIZE))
        report = reports.get(index.arms)
        data = pages.run_page(index, report or pages.Report(), min(max(1, page), pages_total))
        return HTMLResponse(html.page("run.html", report_pending=report is None, stamp_url="/report-stamp",
                                      stamp="pending", **data))

    @app.get("/report-stamp")
    def report_stamp() -> Response:
        return JSONResponse({"stamp": reports.stamp})

    @app.get("/episode/{arm}/{name}", response_class=HTMLResponse)
    def episode(arm: str, name: str) -> Response:
        ref = index_run(root).find(arm, name) if kind == "run" else None
        if ref is None:
            return missing(f"No episode {name!r} under arm {arm!r} in {root}.")
        data = pages.episode_page(load_episode(ref))
        url = f"/stamp/{pages.q(arm)}/{pages.q(name)}"
        return HTMLResponse(html.page("episode.html", root=str(root), stamp_url=url, stamp=_stamp(ref.path, arm),
                                      **data))

    def _stamp(path: Path, arm: str) -> str:
        return stamp(path) + "/" + stamp(root / arm / RESULTS_FILE)

    @app.get("/stamp/{arm}/{name}")
    def episode_stamp(arm: str, name: str) -> Response:
        ref = index_run(root).find(arm, name) if kind == "run" else None
        if ref is None:
            return JSONResponse({"error": "no such episode"}, status_code=404)
        return JSONResponse({"stamp": _stamp(ref.path, arm)})

    @app.get("/compare/{task}/{seed}/{a}/{b}", response_class=HTMLResponse)
    def compare(task: str, seed: int, a: str, b: str) -> Response:
        data = pages.compare_page(index_run(root), task, seed, a, b) if kind == "run" else None
        if data is None:
            return missing(f"Arms {a!r} and {b!r} did not both run {task!r} (seed {seed}).")
        return HTMLResponse(html.page("compare.html", root=str(root), **data))

    @app.get("/replay/{arm}/{concurrency}/{repeat}/{agent}", response_class=HTMLResponse)
    def replay(arm: str, concurrency: int, repeat: int, agent: int) -> Response:
        data = pages.replay_page(root, pages.load_replay(root), (arm, concurrency, repeat, agent)) \
            if kind == "replay" else None
        if data is None:
            return missing(f"No replayed agent {agent} of arm {arm!r} at concurrency {concurrency}, repeat {repeat}.")
        return HTMLResponse(html.page("replay.html", **data))

    return app
