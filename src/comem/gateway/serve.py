"""Run a gateway: open its models (the upstream URL or the embedded agent model, and the memory model), then serve
the app with uvicorn until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import uvicorn

from comem.gateway.app import Gateway, create_app
from comem.gateway.config import GatewayConfig
from comem.llm.endpoint import ModelConfig, thread_plan
from comem.llm.open import engine_slots, open_memory, open_model

# Idle keep-alive connections stay open this long. Clients pool connections, and a server that closes one
# while a client starts to reuse it resets that request (uvicorn's default is 5 s).
KEEP_ALIVE_S = 75
EMBEDDED_SLOTS = 4  # concurrent requests an embedded agent model serves (sessions beyond queue in llama.cpp)


def server_config(gateway: Gateway, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves a gateway (the CLI and the tests alike)."""
    return uvicorn.Config(create_app(gateway), host=host, port=port, log_level="warning", lifespan="on",
                          timeout_keep_alive=KEEP_ALIVE_S)


@contextlib.asynccontextmanager
async def open_gateway(config: GatewayConfig, log_dir: Path) -> AsyncIterator[Gateway]:
    agent = config.upstream.model if config.upstream.url is None else ModelConfig(url=config.upstream.url)
    need_memory = config.arm.needs_memory()  # a ledger-only arm calls no memory model: none is started
    agent_threads, memory_threads = thread_plan(agent, config.memory, need_memory=need_memory)
    async with contextlib.AsyncExitStack() as stack:
        url, client = config.upstream.url, None
        if url is None:
            client = await stack.enter_async_context(open_model(
                agent, "agent", log_dir, agent_threads, n_parallel=engine_slots(config.memory, need_memory,
                                                                                EMBEDDED_SLOTS)))
            url = client.base_url
        memory = await stack.enter_async_context(
            open_memory(config.memory, client, log_dir, memory_threads)) if need_memory else None
        yield Gateway(config, url, memory)


async def serve(config: GatewayConfig, on_ready: Callable[[str, Gateway], None]) -> None:
    """Serve until SIGINT/SIGTERM; `on_ready` gets the base URL clients use once the socket listens."""
    config.out.mkdir(parents=True, exist_ok=True)
    async with open_gateway(config, config.out / "logs") as gateway:
        server = uvicorn.Server(server_config(gateway, config.host, config.port))
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            on_ready(f"http://{host}:{port}/v1", gateway)
        await task
