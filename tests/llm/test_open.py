"""Opening models: the memory model `agent` is the agent's engine, never a server of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.llm.endpoint import ModelConfig
from comem.llm.open import engine_slots, open_memory, open_model

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
