"""Where a model runs: served embedded (a bundled name, a GGUF path, `hf:DIR`) or reached at an OpenAI-compatible
URL. One type for every command.

`ModelConfig` is what a user writes: the YAML `agent:` / `memory:` sections, the `--agent-model/--agent-url/
--api-key` flags, a `SPEC` string (`ModelConfig.parse`: `qwen2.5-coder-0.5b`, `model.gguf`, `hf:ckpt/final`,
`http://host:8000/v1#served-name`), the reward's agent. Its defaults are the defaults of every command. An embedded
GGUF model may carry a LoRA adapter (`comem train export-gguf`): `lora: FILE` or, wherever a model name goes,
`qwen2.5-coder-0.5b+lora:FILE.gguf`, or by the name of an adapter the package ships (`comem-memory-135m`:
llm/models.py `ADAPTERS`). As the memory model, `agent` (`AGENT_ENGINE`) means the agent's own weights on
the agent's engine: no second server; memory requests share the agent's engine (its cores, its batches).
`request_options` are engine options sent with every request (`frequency_penalty`, llama.cpp's `repeat_penalty`,
`top_k`, ...); in a SPEC they follow a `?`: `smollm2-135m+lora:m.gguf?frequency_penalty=0.5&top_k=40`. The fields
comem sets on each request itself (messages, budget, temperature, tools, grammar, ...) cannot be overridden there.

`Endpoint` is derived from it: the same settings resolved to the URL the model is served at (an embedded server's
own once it started) and the body every request carries. It is picklable, so a Ray task or a reward function opens
its own client from it.

The API key is a secret: it is excluded from every dump (config.yaml, results, manifests), masked in reprs, and
read only when a client is made (`secret()`: `api_key`, else $OPENAI_API_KEY, which `comem run`/`eval` move out of
the process environment first: core/secrets.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pydantic import Field, JsonValue, SecretStr, field_validator, model_validator

from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.secrets import secret
from comem.llm.hf_server import HF_PREFIX
from comem.llm.models import ADAPTERS, DEFAULT_MODEL, adapter_at, resolve_adapter, sha256_file
from comem.llm.openai_http import OpenAIChatClient

__all__ = ["AGENT_ENGINE", "DEFAULT_MODEL", "LORA_MARK", "OPTIONS_MARK", "Endpoint", "ModelConfig", "on_agent_engine",
           "thread_plan"]

LORA_MARK = "+lora:"  # `BASE+lora:ADAPTER.gguf`: a bundled model or GGUF with a GGUF LoRA adapter on top
AGENT_ENGINE = "agent"  # as the memory model: the agent's weights, served by the agent's engine
OPTIONS_MARK = "?"  # `SPEC?key=value&key=value`: request options sent with every request
# What comem sets on each request itself: an option may not change the messages, the budget, greedy decoding for
# the reward and replays, the tool protocol or the streaming the timings come from.
RESERVED_OPTIONS = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "n", "seed",
                              "stream", "stream_options", "tools", "tool_choice", "response_format", "grammar"})


def _split_options(spec: str) -> tuple[str, dict[str, Any]]:
    """`SPEC?key=value&...` -> (SPEC, {key: value}); a value is read as JSON where it parses (0.5, 40, true), else
    kept as text."""
    head, sep, query = spec.partition(OPTIONS_MARK)
    if not sep:
        return spec, {}
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs or any(not key or not value for key, value in pairs):
        raise ComemError(f"model spec {spec!r} has request options that are not key=value pairs.",
                         fix="write SPEC?key=value&key=value, e.g. smollm2-135m?frequency_penalty=0.5.")
    return head, {key: _option_value(value) for key, value in pairs}


def _option_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _with_options(data: Any) -> Any:
    """A mapping whose `model` ends in `?key=value&...` as the bare model and its request options."""
    if not (isinstance(data, dict) and isinstance(data.get("model"), str) and OPTIONS_MARK in data["model"]):
        return data
    model, options = _split_options(data["model"])
    given = data.get("request_options") or {}
    clash = sorted(k for k in options.keys() & given.keys() if options[k] != given[k])
    if clash:
        raise ComemError(f"{', '.join(clash)}: given twice, with other values, in model {data['model']!r} and in "
                         "request_options.", fix="give each request option once.")
    return {**data, "model": model, "request_options": {**given, **options}}


class ModelConfig(StrictModel):
    """A model served embedded (bundled name, GGUF path, `hf:DIR`) or reached at an OpenAI-compatible URL."""

    model: str = DEFAULT_MODEL  # the bundled name or path (embedded), or the served model name (with `url`)
    lora: Path | None = None  # a GGUF LoRA adapter the embedded llama.cpp server applies to `model`
    url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, llama.cpp server)
    api_key: SecretStr | None = Field(default=None, exclude=True)  # default: $OPENAI_API_KEY; never written out
    n_ctx: int = Field(default=16384, ge=256)  # context of an embedded server
    threads: int | None = Field(default=None, ge=1)  # embedded only; default: see thread_plan
    timeout_s: float = Field(default=600.0, gt=0)  # per request
    max_retries: int = Field(default=3, ge=0)
    request_options: dict[str, JsonValue] = Field(default_factory=dict)  # sent with every request, e.g. top_k

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("request_options")
    @classmethod
    def _options_are_the_users(cls, options: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(RESERVED_OPTIONS & options.keys())
        if taken:
            raise ComemError(f"{', '.join(taken)}: set by comem on each request, not a request option.",
                             fix="drop it from request_options (or the SPEC after `?`); comem sets each request's "
                                 "messages, budget, temperature (loop.temperature for the agent), tools and grammar.")
        return options

    @model_validator(mode="before")
    @classmethod
    def _split_spec(cls, data: Any) -> Any:
        """`BASE+lora:FILE?key=value` in `model` -> model BASE, lora FILE and the request options, so the spec works
        wherever a model name does; a bundled adapter's name (`ADAPTERS`) is its base with its file."""
        data = _with_options(data)
        if isinstance(data, dict) and not data.get("url") and data.get("model") in ADAPTERS:
            adapter = ADAPTERS[data["model"]]
            if data.get("lora") is not None:
                raise ComemError(f"{adapter.name} is {adapter.base} with a bundled adapter already; it takes no "
                                 f"other (lora: {data['lora']}).", fix=f"name {adapter.base}+lora:FILE.gguf instead.")
            data = {**data, "model": adapter.base, "lora": str(adapter.check())}
        if isinstance(data, dict) and isinstance(data.get("model"), str) and LORA_MARK in data["model"]:
            base, _, adapter = data["model"].partition(LORA_MARK)
            if not base.strip() or not adapter.strip() or data.get("lora") not in (None, adapter.strip()):
                raise ComemError(f"model spec {data['model']!r} does not name one base model and one adapter.",
                                 fix="write BASE+lora:ADAPTER.gguf, e.g. qwen2.5-coder-0.5b+lora:memory.gguf.")
            data = {**data, "model": base.strip(), "lora": adapter.strip()}
        return data

    @model_validator(mode="after")
    def _lora_is_embedded(self) -> ModelConfig:
        if self.lora is not None and (self.url or self.model.startswith(HF_PREFIX)):
            where = f"the server at {self.url}" if self.url else "a transformers (hf:) checkpoint"
            raise ComemError(f"a GGUF LoRA adapter ({self.lora}) is applied by the embedded llama.cpp server, not by "
                             f"{where}.", fix="use a bundled model or GGUF file as the base (BASE+lora:FILE), or "
                             "load the adapter in your own server (llama-server --lora FILE).")
        return self

    @model_validator(mode="after")
    def _agent_engine_is_bare(self) -> ModelConfig:
        if self.model == AGENT_ENGINE and self.url is None and (
                self.lora is not None or self.threads is not None or self.request_options):
            raise ComemError("the memory model `agent` is the agent's own engine: it has no adapter, threads or "
                             "request options of its own.", fix="drop memory.lora / memory.threads / "
                             "memory.request_options, or name a model for a memory server of its own (e.g. "
                             "qwen2.5-coder-0.5b+lora:FILE.gguf).")
        return self

    @classmethod
    def parse(cls, spec: str, **fields: Any) -> ModelConfig:
        """A model from one string: a bundled name, a GGUF path or `hf:DIR` (embedded), or an OpenAI-compatible URL
        with the served model name after `#` (`http://127.0.0.1:8000/v1#comem-memory`; without it, `model` from
        `fields`), each perhaps with request options after a `?`. `fields` are the other settings (api_key, n_ctx,
        timeout_s, ...)."""
        fallback = fields.get("model")
        fields = _with_options({**fields, "model": spec.strip()})  # options come off a URL without `#name` too
        spec = fields.pop("model")
        if "://" in spec:
            url, _, served = spec.partition("#")
            return cls(**{**fields, "url": url, "model": served or fallback or DEFAULT_MODEL})
        return cls(**{**fields, "model": spec, "url": None})

    def adapter_sha256(self) -> str | None:
        """The adapter's content hash (None without one): an adapter retrained at the same path is other weights,
        and a resumed run must not mix their results with the old ones'."""
        return None if self.lora is None else sha256_file(resolve_adapter(self.lora))

    def secret(self) -> str | None:
        """The API key to send: `api_key`, else $OPENAI_API_KEY."""
        return self.api_key.get_secret_value() if self.api_key is not None else secret("OPENAI_API_KEY")

    def client(self, seed: int | None = None, *, extra_body: dict[str, Any] | None = None) -> OpenAIChatClient:
        """A client of its own for a served model; with `seed`, every request carries it (vLLM, SGLang and llama.cpp
        honour it)."""
        if not self.url:
            raise ValueError(f"{self.model!r} has no URL; open embedded models with comem.llm.open.open_model")
        body = {**self.request_options, **getattr(self, "extra_body", {}), **(extra_body or {}),
                **({"seed": seed} if seed is not None else {})}
        return OpenAIChatClient(self.url, self.model, api_key=self.secret(), timeout_s=self.timeout_s,
                                max_retries=self.max_retries, extra_body=body)


def summary_defaults(memory: ModelConfig) -> dict[str, int]:
    """Memory settings the memory model brings: a bundled adapter's summary budget (`summary_tokens`)."""
    adapter = None if memory.url else adapter_at(memory.lora)
    return {"memory_max_tokens": adapter.summary_tokens} if adapter else {}


def on_agent_engine(memory: ModelConfig) -> bool:
    """The memory model is `agent`: its requests go to the agent's engine, which serves both roles."""
    return memory.url is None and memory.model == AGENT_ENGINE


def thread_plan(agent: ModelConfig, memory: ModelConfig, need_memory: bool) -> tuple[int, int | None]:
    """CPU threads for the embedded (agent, memory) servers; memory None: no memory server of its own.

    llama.cpp threads spin; two servers that each take every core slow each other down many times over.
    So when both run here, the memory model gets a quarter of the cores (at least one) and the agent the rest —
    the CPU analogue of the paper's separate memory GPUs. Without a memory model, or with the memory model
    `agent` (one engine for both roles), the agent gets every core: a benchmark that compares arms (`comem bench
    replay`) asks for each arm's plan, so every arm uses the same cores.
    """
    cores = os.cpu_count() or 2
    if on_agent_engine(memory):
        return agent.threads or cores, None
    both = need_memory and not agent.url and not memory.url
    memory_threads = memory.threads or (max(1, cores // 4) if both else cores)
    agent_threads = agent.threads or (max(1, cores - memory_threads) if both else cores)
    return agent_threads, memory_threads


class Endpoint(ModelConfig):
    """A `ModelConfig` resolved to the URL it is served at, with the body every request carries; picklable, so Ray
    workers and reward functions open their own clients from it."""

    url: str
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, client: OpenAIChatClient, spec: ModelConfig) -> Endpoint:
        """The endpoint `client` (opened from `spec`, perhaps on an embedded server) talks to. The key is resolved
        here, so a worker without the driver's environment still sends it."""
        key = spec.secret()
        return cls(model=client.model, url=client.base_url, api_key=SecretStr(key) if key else None, n_ctx=spec.n_ctx,
                   threads=spec.threads, timeout_s=client.timeout_s, max_retries=client.max_retries,
                   extra_body=dict(client.extra_body))
