"""Where a model runs: served embedded (a bundled name or a GGUF path) or reached at an OpenAI-compatible URL.

`ModelConfig` is what a user writes; `Endpoint` is the resolved, picklable address a worker (a Ray actor, a
reward function) opens its own client from.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field

from comem.llm.openai_http import OpenAIChatClient


class ModelConfig(BaseModel):
    """A model served embedded (bundled name or GGUF path) or reached at an OpenAI-compatible URL."""

    model: str = "qwen2.5-coder-0.5b"
    url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, llama.cpp server)
    api_key: str | None = None  # default: $OPENAI_API_KEY, else "EMPTY"
    n_ctx: int = 16384
    threads: int | None = None  # embedded only; default: see thread_plan
    timeout_s: float = 600.0
    max_retries: int = 3


def thread_plan(agent: ModelConfig, memory: ModelConfig, need_memory: bool) -> tuple[int, int]:
    """CPU threads for the embedded (agent, memory) servers.

    llama.cpp threads spin; two servers that each take every core slow each other down many times over.
    So when both run here, the memory model gets its own core and the agent the rest — the CPU analogue
    of the paper's separate memory GPUs. Every arm shares the same agent server, so arms stay comparable.
    """
    cores = os.cpu_count() or 2
    both = need_memory and not agent.url and not memory.url
    memory_threads = memory.threads or (max(1, cores // 4) if both else cores)
    agent_threads = agent.threads or (max(1, cores - memory_threads) if both else cores)
    return agent_threads, memory_threads


class Endpoint(BaseModel):
    """How to reach a model server, picklable so Ray workers can open their own clients."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 600.0
    max_retries: int = 3
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, client: OpenAIChatClient, spec: ModelConfig) -> Endpoint:
        return cls(base_url=client.base_url, model=client.model, api_key=spec.api_key or os.environ.get(
            "OPENAI_API_KEY"), timeout_s=client.timeout_s, max_retries=client.max_retries,
            extra_body=client.extra_body)

    def client(self, seed: int | None = None) -> OpenAIChatClient:
        """A client of its own; with `seed`, every request carries it (vLLM, SGLang and llama.cpp honour it)."""
        extra = {**self.extra_body, **({"seed": seed} if seed is not None else {})}
        return OpenAIChatClient(self.base_url, self.model, api_key=self.api_key, timeout_s=self.timeout_s,
                                max_retries=self.max_retries, extra_body=extra)
