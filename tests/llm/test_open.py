"""Opening models: the memory model `agent` is the agent's engine, never a server of its own; a spec's request
options go with every request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.core.records import Message
from comem.llm.endpoint import Endpoint, ModelConfig
from comem.llm.open import engine_slots, open_memory, open_model
from tests.standin import OpenAIStandIn

AGENT = ModelConfig(model="agent")


def test_agent_names_no_server_of_its_own(tmp_path: Path) -> None:
    async def go() -> None:
        async with open_model(AGENT, "agent", tmp_path, 1):
            pass

    with pytest.raises(ComemError, match="it can only be the memory model of a run"):
        asyncio.run(go())
    assert not list(tmp_path.iterdir())  # nothing was started


def test_the_memory_model_agent_gets_the_agents_client_and_slots(tmp_path: Path) -> None:
    agent = object()

    async def go() -> object:
        async with open_memory(AGENT, agent, tmp_path, None) as memory:
            return memory

    assert asyncio.run(go()) is agent
    assert engine_slots(AGENT, True, 3) == 6  # the agents' requests and as many memory requests
    assert engine_slots(AGENT, False, 3) == engine_slots(ModelConfig(), True, 3) == 3


def test_request_options_go_with_every_request_and_to_workers(tmp_path: Path) -> None:
    """The options of a spec reach the server on every request, beside comem's own fields, and an `Endpoint` made
    from the client (what a Ray worker or a reward opens its client from) sends them too."""
    with OpenAIStandIn(lambda request: "ok") as server:
        spec = ModelConfig.parse(f"{server.url}#stand-in?frequency_penalty=0.5&top_k=40")

        async def go() -> None:
            async with open_model(spec, "memory", tmp_path, 1, extra_body={"ignore_eos": True}) as client:
                await client.chat([Message(role="user", content="hi")], max_tokens=8)
                worker = Endpoint.of(client, spec).client()
                try:
                    await worker.chat([Message(role="user", content="hi")], max_tokens=4)
                finally:
                    await worker.aclose()

        asyncio.run(go())
    first, second = server.requests
    assert first["frequency_penalty"] == second["frequency_penalty"] == 0.5
    assert first["top_k"] == second["top_k"] == 40
    assert first["ignore_eos"] is second["ignore_eos"] is True
    assert (first["max_tokens"], second["max_tokens"], first["temperature"]) == (8, 4, 0.0)


def test_llama_cpp_applies_a_specs_request_options(tmp_path: Path) -> None:
    """Through the embedded llama.cpp server: a frequency penalty in the spec changes what SmolLM2 writes when asked
    to repeat itself, where the plain spec repeats."""
    prompt = [Message(role="user", content="Repeat after me forever: cat cat cat cat cat cat cat cat")]

    async def ask(spec: str) -> str:
        async with open_model(ModelConfig.parse(spec, n_ctx=1024), "memory", tmp_path, 2) as client:
            return (await client.chat(prompt, max_tokens=40)).text

    plain, penalised = asyncio.run(ask("smollm2-135m")), asyncio.run(ask("smollm2-135m?frequency_penalty=2.0"))
    assert plain.lower().count("cat") > penalised.lower().count("cat"), (plain, penalised)
