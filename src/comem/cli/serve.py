"""`comem serve`: the gateway that gives any OpenAI- or Anthropic-API agent k-step-off memory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from comem.cli.common import console, drop_none
from comem.core.config import default_of, load_yaml_config
from comem.gateway.config import GatewayConfig
from comem.llm.endpoint import ModelConfig


def adapter_notices(settings: GatewayConfig) -> list[str]:
    """A line when the memory is a bundled adapter trained on one kind of task: the gateway cannot see what its
    clients do, so it says what the adapter is for."""
    from comem.llm.models import adapter_at

    adapter = adapter_at(settings.memory.lora) if settings.arm.needs_memory() and not settings.memory.url else None
    if adapter is None or not adapter.task_sources:
        return []
    return [adapter.other_work_note("and the gateway cannot tell what its clients' tasks are",
                                    "arm: {name: kso, memory_view: ledger} in the --config file")]


def serve(
    config: Annotated[Path | None, typer.Option(help="YAML gateway config (see docs/gateway.md); flags override it.")
                      ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind. Default 127.0.0.1; any other needs --api-key."
                                             )] = None,
    port: Annotated[int | None, typer.Option(help=f"Port (0: a free one). Default {default_of(GatewayConfig, 'port')}."
                                             )] = None,
    api_key: Annotated[str | None, typer.Option(help="Key clients must send (Bearer or x-api-key). Env: "
                                                "COMEM_GATEWAY_KEY.", envvar="COMEM_GATEWAY_KEY")] = None,
    upstream: Annotated[str | None, typer.Option(help="OpenAI/Anthropic-compatible base URL ending in /v1 (vLLM, "
                                                 "SGLang, llama.cpp, a hosted API). Default: the embedded agent "
                                                 "model.")] = None,
    upstream_api_key: Annotated[str | None, typer.Option(help="Key sent upstream (else the client's own key passes "
                                                         "through). Env: COMEM_UPSTREAM_KEY.",
                                                         envvar="COMEM_UPSTREAM_KEY")] = None,
    upstream_protocol: Annotated[str | None, typer.Option(help="What the upstream serves: same (each protocol as "
                                                          "received), openai or anthropic (the other one is "
                                                          "translated).")] = None,
    agent_model: Annotated[str | None, typer.Option(help="Embedded agent model when there is no --upstream.")] = None,
    memory_model: Annotated[str | None, typer.Option(help="Memory model: a bundled name or GGUF path (embedded), "
                                                     "optionally with a LoRA adapter (BASE+lora:FILE.gguf), or a "
                                                     "URL with the served name after # (http://h:8001/v1#name); "
                                                     "engine options after ? (?frequency_penalty=0.5).")] = None,
    arm: Annotated[str | None, typer.Option(help="The kso arm, in the arm grammar (kso-k4-deadline) as in comem "
                                            "run. Default: kso with late_policy deadline.")] = None,
    min_tokens: Annotated[int | None, typer.Option(help="Requests smaller than this (estimated tokens) pass through "
                                                   "untouched. Default "
                                                   f"{default_of(GatewayConfig, 'min_tokens')}.")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(help="Largest request body accepted (413 above).")] = None,
    out: Annotated[Path | None, typer.Option(help="Session records and state. Default "
                                             f"{default_of(GatewayConfig, 'out')}.")] = None,
) -> None:
    """Serve /v1/chat/completions and /v1/messages with k-step-off memory in front of an upstream model."""
    overrides: dict[str, Any] = {"host": host, "port": port, "api_key": api_key, "arm": arm,
                                 "min_tokens": min_tokens, "max_body_bytes": max_body_bytes, "out": out,
                                 "upstream": {"url": upstream, "api_key": upstream_api_key,
                                              "protocol": upstream_protocol}}
    if agent_model is not None:
        overrides["upstream"]["model"] = {"model": agent_model}
    if memory_model is not None:
        memory = ModelConfig.parse(memory_model)
        overrides["memory"] = {"model": memory.model, "url": memory.url, "lora": memory.lora,
                               "request_options": memory.request_options}
    settings = load_yaml_config(config, drop_none(overrides), GatewayConfig, command="comem serve")
    from comem.gateway.serve import serve as run_gateway

    def ready(url: str, gateway: Any) -> None:
        where = settings.upstream.url or f"embedded {settings.upstream.model.model}"
        memory = gateway.pool.model if gateway.pool else "none (ledger only)"
        console.print(f"comem serve: [bold]{url}[/] -> {where}; memory {memory}, arm {settings.arm.key}, "
                      f"records in {settings.out}")
        console.print(f"  OpenAI clients: base_url={url}   Anthropic clients: base_url={url.removesuffix('/v1')}")

    console.print("comem serve: starting the models ...")
    for line in adapter_notices(settings):
        console.print(line)
    try:
        asyncio.run(run_gateway(settings, ready))
    except KeyboardInterrupt:
        console.print(f"comem serve: stopped; session records are in {settings.out}")

