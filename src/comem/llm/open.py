"""Open the agent and memory models: embedded servers (llama.cpp for GGUF, with an optional GGUF LoRA adapter;
transformers for `hf:DIR`) or URLs.

The agent and the memory model get separate server instances (decoupled, as in the method), even when they are
the same bundled model, unless the memory model is `agent`: then its requests go to the agent's engine
(`open_memory`), which is sized for both (`engine_slots`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from comem.core.errors import ComemError
from comem.core.records import Completion, Message
from comem.llm.base import LLMUnavailable
from comem.llm.embedded import EmbeddedServer
from comem.llm.endpoint import AGENT_ENGINE, ModelConfig, on_agent_engine
from comem.llm.hf_server import HF_PREFIX, HFServer
from comem.llm.models import resolve_adapter, resolve_model
from comem.llm.openai_http import OpenAIChatClient


class Revived:
    """A client of an embedded server that starts the server again when a request finds it dead, then retries the
    request once; `on_restart` hears each restart (a model run quietly without its server is a wrong result).
    Everything else is the client's."""

    def __init__(self, client: OpenAIChatClient, server: EmbeddedServer, on_restart: Callable[[str], None]) -> None:
        self.client, self.server, self.on_restart = client, server, on_restart

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        try:
            return await self.client.chat(messages, **kwargs)
        except LLMUnavailable:
            if self.server.restarts >= MAX_RESTARTS:
                raise
            if await self._revive() is None and self.server.pid is None:
                raise
        return await self.client.chat(messages, **kwargs)

    async def _revive(self) -> str | None:
        """Start the server again if it died (`EmbeddedServer.revive`) and tell `on_restart`; what happened."""
        what = await asyncio.to_thread(self.server.revive)
        if what is not None:
            self.on_restart(what)
        return what


    @property
    def restarts(self) -> int:
        return self.server.restarts

    async def supervise(self) -> int:
        """Start the server again if it died since the last look, as a failed request would (at most MAX_RESTARTS
        times in all); the restarts so far. For clients this object does not see: Ray workers reach the server by
        its URL, so the driver looks after each episode and compares the count with the one before it."""
        if self.server.restarts < MAX_RESTARTS:
            await self._revive()
        return self.server.restarts


MAX_RESTARTS = 3  # a server that keeps dying is broken: its requests fail, as they would without restarts


@contextlib.asynccontextmanager
async def open_model(spec: ModelConfig, role: str, log_dir: Path, threads: int, *, n_parallel: int = 1,
                     extra_body: dict[str, Any] | None = None,
                     on_restart: Callable[[str], None] | None = None) -> AsyncIterator[Any]:
    """Yield a ready client; an embedded server is stopped on exit, whatever happens.

    `n_parallel` sizes an embedded server for that many concurrent requests; `extra_body` goes with every
    request (e.g. `ignore_eos` to force output lengths in benchmarks). With `on_restart`, an embedded server that
    dies is started again (`Revived`).
    """
    if on_agent_engine(spec):
        raise ComemError(f"`{AGENT_ENGINE}` names the agent's own engine; it can only be the memory model of a run.",
                         fix="name a bundled model, a GGUF file or a URL here.")
    extra_body = {**spec.request_options, **(extra_body or {})}
    if spec.url:
        client = spec.client(extra_body=extra_body)
        try:
            await client.health()
            yield client
        finally:
            await client.aclose()
        return
    name = spec.model.removeprefix(HF_PREFIX)
    if name != spec.model:  # a trained HF checkpoint, served by transformers (one request at a time)
        path, server_cls = Path(name).expanduser(), HFServer
    else:
        path, server_cls = resolve_model(name), EmbeddedServer
    lora = resolve_adapter(spec.lora) if spec.lora is not None else None  # ModelConfig allows it on GGUF bases only
    alias = f"{role}:{Path(name).name}" + (f"+{lora.name}" if lora else "")
    with server_cls(path, alias=alias, lora=lora, n_ctx=spec.n_ctx, n_threads=threads,
                    n_parallel=n_parallel, log_path=log_dir / f"{role}-server.log") as server:
        client = server.client(timeout_s=spec.timeout_s, max_retries=spec.max_retries, extra_body=extra_body)
        try:
            yield Revived(client, server, on_restart) if on_restart and server_cls is EmbeddedServer else client
        finally:
            await client.aclose()


def engine_slots(memory: ModelConfig, need_memory: bool, requests: int) -> int:
    """Concurrent requests the agent's engine must serve: its own, and the memory model's when it shares it."""
    return requests * (2 if need_memory and on_agent_engine(memory) else 1)


@contextlib.asynccontextmanager
async def open_memory(spec: ModelConfig, agent: Any, log_dir: Path, threads: int | None, *, n_parallel: int = 1,
                      extra_body: dict[str, Any] | None = None,
                      on_restart: Callable[[str], None] | None = None) -> AsyncIterator[Any]:
    """The memory model's client: `agent` (the agent's client) when the memory model is `agent`, else its own
    server or URL as `open_model` opens it."""
    if on_agent_engine(spec):
        yield agent
        return
    async with open_model(spec, "memory", log_dir, threads or 1, n_parallel=n_parallel, extra_body=extra_body,
                          on_restart=on_restart) as memory:
        yield memory
