"""The gateway's HTTP surface: the two chat protocols, models, health and metrics.

A request goes: size cap and key check -> parse -> its session plans it (pass through, or summary + recent turns)
-> upstream, streamed back as it arrives. Whatever happens upstream, the client gets a response in its protocol's
shape: the upstream's own error with its status, 502 when it cannot be reached, 504 when it times out; never a
200 with an empty body. A client that leaves a stream cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from comem.gateway.config import GatewayConfig
from comem.gateway.metrics import GatewayMetrics
from comem.gateway.pool import MemoryPool
from comem.gateway.session import Plan, Session
from comem.gateway.store import SessionStore, session_key
from comem.gateway.upstream import StreamWatch, Upstream, response_headers
from comem.gateway.wire import WIRES, Usage, Wire
from comem.gateway.wire.base import BadRequest
from comem.gateway.wire.translate import TRANSLATIONS, error_message
from comem.llm.base import LLM

SWEEP_S = 60.0


class TooLarge(Exception):
    pass


class Refused(Exception):
    """A request without the gateway's key: answered 401 with this body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class Gateway:
    """Everything one gateway holds: its upstream, the shared memory model, the sessions, the metrics."""

    def __init__(self, config: GatewayConfig, upstream_url: str, memory_llm: LLM | None) -> None:
        """`memory_llm` is None for an arm that needs no memory model (`memory_view: ledger` or `recent`)."""
        self.config = config
        self.metrics = GatewayMetrics()
        self.pool = MemoryPool(memory_llm, config.memory_concurrency, config.memory_queue) if memory_llm else None
        key = config.upstream.api_key.get_secret_value() if config.upstream.api_key else None
        self.upstream = Upstream(upstream_url, api_key=key, timeout_s=config.upstream.timeout_s,
                                 gateway_keyed=config.api_key is not None)
        self.store = SessionStore(config.out, config.arm, self.pool, max_sessions=config.sessions.max_sessions,
                                  idle_s=config.sessions.idle_s, on_memory=self.metrics.memory)

    async def aclose(self) -> None:
        await self.store.close()
        await self.upstream.aclose()

    def require_key(self, request: Request) -> None:
        """With a gateway key, every route needs it; the refusal is in the shape of the route's protocol."""
        if not self.authorised(request):
            wire = WIRES["anthropic" if request.url.path.endswith("/messages") else "openai"]
            raise Refused(wire.error(401, "missing or wrong gateway API key (send it as a Bearer token or "
                                          "x-api-key)"))

    def authorised(self, request: Request) -> bool:
        if self.config.api_key is None:
            return True
        key = self.config.api_key.get_secret_value()
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        sent = request.headers.get("x-api-key") or bearer
        return hmac.compare_digest(sent.encode(), key.encode())

    async def body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise TooLarge
        return bytes(data)

    async def chat(self, request: Request, wire: Wire) -> Response:
        t0 = time.perf_counter()

        def fail(status: int, message: str) -> JSONResponse:
            self.metrics.requests.labels(wire.name, str(status), "no").inc()
            return JSONResponse(wire.error(status, message), status_code=status)

        try:
            raw = await self.body(request)
        except TooLarge:
            return fail(413, f"request body above {self.config.max_body_bytes} bytes (the gateway's "
                             "max_body_bytes); raise it with --max-body-bytes")
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            conv = wire.conversation(body)
        except (json.JSONDecodeError, UnicodeDecodeError, BadRequest) as exc:
            return fail(400, f"not a valid {wire.name} request: {exc}")
        session = await self.store.get(session_key(wire, body, conv, request.headers), conv)
        async with session.lock:
            resyncs = session.resyncs
            plan = await session.plan(conv, len(raw) // 4, self.config.min_tokens)
            self.metrics.resyncs.inc(session.resyncs - resyncs)
            self.store.save(session)
        self.metrics.sessions.set(len(self.store.live))
        self.metrics.queue_depth.set(self.pool.depth if self.pool else 0)
        target = wire if self.config.upstream.protocol == "same" else WIRES[self.config.upstream.protocol]
        translation = TRANSLATIONS.get((wire.name, target.name))
        content = raw
        if plan.rewrite or translation:
            sent = wire.rewrite(body, conv, plan.block, plan.raw_from, keep_calls=plan.keep_calls) \
                if plan.rewrite else body
            content = json.dumps(translation.request(sent) if translation else sent, ensure_ascii=False).encode()
        self.metrics.tokens.labels("before").inc(len(raw) // 4)
        self.metrics.tokens.labels("after").inc(len(content) // 4)
        self.metrics.overhead_s.observe(time.perf_counter() - t0 - plan.memory_wait_s)
        upstream_request = self.upstream.request("POST", target.path, request.headers, content,
                                                 translated_to=target.name if translation else None)
        started = time.perf_counter()
        try:
            resp = await self.upstream.client.send(upstream_request, stream=True)
        except httpx.TimeoutException:
            return fail(504, f"the upstream at {self.upstream.base_url} timed out")
        except httpx.HTTPError as exc:
            return fail(502, f"the upstream at {self.upstream.base_url} could not be reached: {type(exc).__name__}")
        rewritten = "yes" if plan.rewrite else "no"
        if resp.status_code >= 400 or not body.get("stream"):
            try:
                data = await resp.aread()
            except httpx.HTTPError as exc:
                return fail(502, f"the upstream broke off its answer: {type(exc).__name__}")
            finally:
                await resp.aclose()
            return self._answer(wire, target, session, plan, resp, data, started, rewritten)
        self.metrics.requests.labels(wire.name, str(resp.status_code), rewritten).inc()
        return StreamingResponse(self._relay(wire, target, session, plan, resp, started),
                                 status_code=resp.status_code, headers=response_headers(resp),
                                 media_type="text/event-stream")

    def _answer(self, wire: Wire, target: Wire, session: Session, plan: Plan, resp: httpx.Response, data: bytes,
                started: float, rewritten: str) -> Response:
        """A whole answer (or an error) back to the client; `target` is the protocol the upstream spoke."""
        total = time.perf_counter() - started
        try:
            parsed: Any = json.loads(data) if data else None
        except ValueError:
            parsed = None
        status = resp.status_code
        if not isinstance(parsed, dict):  # never pass on an empty or non-JSON body as if it were an answer
            status = status if status >= 400 else 502
            self.metrics.requests.labels(wire.name, str(status), rewritten).inc()
            return JSONResponse(wire.error(status, f"the upstream answered {resp.status_code} with no valid body"),
                                status_code=status)
        self.metrics.requests.labels(wire.name, str(status), rewritten).inc()
        if status < 400:
            usage = target.usage(parsed) or Usage()
            self._count(usage)
            session.answered(plan, total, total, usage)
        translation = TRANSLATIONS.get((wire.name, target.name))
        if translation is not None:  # the answer in the client's protocol
            answer = translation.response(parsed) if status < 400 else wire.error(status, error_message(parsed))
            return JSONResponse(answer, status_code=status, headers=response_headers(resp))
        return Response(data, status_code=status, headers=response_headers(resp))

    async def _relay(self, wire: Wire, target: Wire, session: Session, plan: Plan, resp: httpx.Response,
                     started: float) -> AsyncIterator[bytes]:
        watch = StreamWatch(target, started)
        translation = TRANSLATIONS.get((wire.name, target.name))
        convert = translation.stream() if translation else None
        complete = False
        try:
            async for chunk in resp.aiter_raw():
                watch.feed(chunk)
                out = convert.feed(chunk) if convert else chunk
                if out:
                    yield out
            if convert:
                yield convert.end()
            complete = True
        except httpx.HTTPError as exc:  # the upstream broke off mid-stream: tell the client in-band
            yield f"data: {json.dumps(wire.error(502, f'upstream stream broke: {type(exc).__name__}'))}\n\n".encode()
        finally:
            await resp.aclose()
            if complete:
                total = time.perf_counter() - started
                self._count(watch.usage)
                session.answered(plan, watch.ttft_s if watch.ttft_s is not None else total, total, watch.usage)
            else:
                self.metrics.cancelled.inc()

    def _count(self, usage: Usage) -> None:
        self.metrics.upstream_tokens.labels("prompt").inc(usage.prompt_tokens)
        self.metrics.upstream_tokens.labels("completion").inc(usage.completion_tokens)
        self.metrics.upstream_tokens.labels("cached").inc(usage.cached_tokens or 0)

    async def passthrough(self, request: Request, path: str) -> Response:
        try:
            resp = await self.upstream.client.send(self.upstream.request("GET", path, request.headers))
        except httpx.HTTPError as exc:
            return JSONResponse(WIRES["openai"].error(502, f"the upstream could not be reached: "
                                                           f"{type(exc).__name__}"), status_code=502)
        return Response(resp.content, status_code=resp.status_code, headers=response_headers(resp))


def create_app(gateway: Gateway) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweeper() -> None:
            while True:
                await asyncio.sleep(SWEEP_S)
                await gateway.store.sweep()

        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            await gateway.aclose()

    app = FastAPI(title="comem gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(gateway.require_key)])

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(exc.body, status_code=401)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await gateway.chat(request, WIRES["openai"])

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await gateway.chat(request, WIRES["anthropic"])

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        return await gateway.passthrough(request, "/models")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        depth = gateway.pool.depth if gateway.pool else 0
        return {"status": "ok", "sessions": len(gateway.store.live), "memory_queue": depth}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")

    return app
