"""An `LLM` over any OpenAI-compatible HTTP server (vLLM, llama.cpp, SGLang, hosted APIs).

It always streams, because streaming is the only way to see time-to-first-token apart from the total time,
and CoMem's speed claims rest on that split.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from comem.core.errors import ComemError
from comem.core.records import Completion, Message, ToolCall
from comem.core.secrets import secret
from comem.llm.base import ContextOverflow, EngineInfo, LLMError, LLMUnavailable

_URL_FIX = "is the server running? Check --agent-url/--memory-url."
# How llama.cpp, vLLM/SGLang and OpenAI word a prompt longer than the window.
_OVERFLOW_MARKS = ("exceed_context_size", "exceeds the available context size", "maximum context length",
                   "context_length_exceeded")


def normalise_base_url(url: str) -> str:
    """Accept `host:port`, `http://host:port` or `http://host:port/v1`; return the `.../v1` form."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if url.endswith("/v1") else f"{url}/v1"


def message_to_openai(message: Message) -> dict[str, Any]:
    """Serialise one message to the OpenAI chat JSON shape (tool arguments become a JSON string)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for i, call in enumerate(message.tool_calls)
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool arguments as a dict; anything that is not a JSON object is kept verbatim under `_raw` (so is JSON that
    Python cannot read: numbers past 4300 digits, nesting past the stack)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _valid_text(text: str) -> str:
    """Text every encoder takes: an unpaired surrogate (a JSON `\\ud83d` escape alone) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _error_message(body: str) -> str:
    """The human part of an error body in the OpenAI, llama.cpp or vLLM shape; else the raw text."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return body.strip()[:500]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:500]
        return str(err)[:500]
    return body.strip()[:500]


class _Retryable(Exception):
    """A failure worth another attempt (server overloaded or restarting, network blip)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class _StreamState:
    """Accumulates one streamed answer: text, tool-call fragments, usage, and when the first token came."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_token_at: float | None = None
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}

    def feed(self, chunk: dict[str, Any]) -> None:
        if chunk.get("error"):
            raise LLMError(f"server error in stream: {_error_message(json.dumps(chunk))}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            self.timings = chunk["timings"]
        for choice in chunk.get("choices") or []:
            # Non-streaming servers put the whole answer under "message" instead of "delta".
            delta = choice.get("delta") or choice.get("message") or {}
            got_token = False
            if delta.get("content"):
                self.text.append(delta["content"])
                got_token = True
            if delta.get("reasoning_content"):
                got_token = True
            for frag in delta.get("tool_calls") or []:
                self._feed_tool_call(frag)
                got_token = True
            if got_token and self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _feed_tool_call(self, frag: dict[str, Any]) -> None:
        # Fragments are keyed by index; name and arguments arrive in pieces, as in the OpenAI SDK.
        call = self.calls.setdefault(int(frag.get("index", len(self.calls))), {"id": "", "name": "", "args": ""})
        if frag.get("id") and not call["id"]:
            call["id"] = frag["id"]
        function = frag.get("function") or {}
        call["name"] += function.get("name") or ""
        args = function.get("arguments")
        call["args"] += args if isinstance(args, str) else json.dumps(args) if args else ""

    def completion(self) -> Completion:
        done = time.perf_counter()
        first = self.first_token_at if self.first_token_at is not None else done
        details = self.usage.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens")
        if cached is None:
            cached = self.timings.get("cache_n")
        return Completion(
            text=_valid_text("".join(self.text)),
            tool_calls=[
                ToolCall(name=_valid_text(c["name"]), arguments=parse_arguments(c["args"]),
                         id=_valid_text(c["id"]) or None)
                for _, c in sorted(self.calls.items())
            ],
            finish_reason=self.finish_reason,
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
            completion_tokens=int(self.usage.get("completion_tokens") or 0),
            cached_tokens=int(cached) if cached is not None else None,
            ttft_s=first - self.started,
            total_s=done - self.started,
        )


class OpenAIChatClient:
    """Streams chat completions from `{base_url}/chat/completions`, retrying transient failures."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self.extra_body = dict(extra_body or {})  # engine options sent with every request, e.g. ignore_eos
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._api_key = api_key or secret("OPENAI_API_KEY") or "EMPTY"
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._engine: EngineInfo | None = None

    def _client(self) -> httpx.AsyncClient:
        """One connection pool per event loop: a pool made under one `asyncio.run` breaks under the next."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s),
                headers={"Authorization": f"Bearer {self._api_key}"},
            )
            self._http_loop = loop
        return self._http

    async def chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        grammar: str | None = None,
    ) -> Completion:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [message_to_openai(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
            **self.extra_body,
        }
        if tools is not None:
            payload["tools"] = tools
        if response_format is not None:
            payload["response_format"] = response_format
        if grammar is not None:
            payload["grammar"] = grammar
        url = f"{self.base_url}/chat/completions"
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                if isinstance(last, _Retryable) and last.retry_after_s is not None:
                    delay = max(delay, min(last.retry_after_s, 60.0))
                await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await self._attempt(url, payload)
            except _Retryable as exc:
                last = exc
            except (httpx.TransportError, TimeoutError) as exc:
                last = exc
        detail = f"{type(last).__name__}: {last}" if str(last) else type(last).__name__
        raise LLMUnavailable(f"LLM request to {url} failed after {self.max_retries + 1} attempts ({detail}); "
                             f"{_URL_FIX}")

    async def _attempt(self, url: str, payload: dict[str, Any]) -> Completion:
        started = time.perf_counter()
        state = _StreamState(started)
        async with self._client().stream("POST", url, json=payload) as resp:
            if resp.status_code >= 400:
                body = (await resp.aread()).decode("utf-8", "replace")
                message = f"{url} returned HTTP {resp.status_code}: {_error_message(body)}"
                if resp.status_code == 429 or resp.status_code >= 500:
                    raise _Retryable(message, _retry_after(resp.headers.get("retry-after")))
                raise (ContextOverflow if any(m in body for m in _OVERFLOW_MARKS) else LLMError)(message)
            if resp.headers.get("content-type", "").startswith("application/json"):
                state.feed(_load_json(url, (await resp.aread()).decode("utf-8", "replace")))
                return state.completion()
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": ping" comments, "event:" lines
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                if data:
                    state.feed(_load_json(url, data))
        return state.completion()

    @property
    def _root(self) -> str:
        return self.base_url.removesuffix("/v1")

    async def engine(self) -> EngineInfo:
        """The window and grammar support, asked once: llama.cpp's /props (n_ctx per slot), else the `max_model_len`
        vLLM and SGLang list under /v1/models. A server that says neither gets EngineInfo() (unknown window)."""
        if self._engine is None:
            props = await self._get_json(f"{self._root}/props")
            settings = props.get("default_generation_settings") if props else None
            if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int):
                self._engine = EngineInfo(context_window=settings["n_ctx"], grammar=True)
            else:
                models = await self._get_json(f"{self.base_url}/models")
                data = models.get("data") if models else None
                window = next((m.get("max_model_len") for m in data or [] if isinstance(m, dict)
                               and m.get("id") == self.model), None)
                self._engine = EngineInfo(context_window=window if isinstance(window, int) else None)
        return self._engine

    async def count_tokens(self, messages: list[Message], tools: list[dict[str, Any]] | None = None) -> int | None:
        """The prompt's exact token count from a llama.cpp engine: its chat template (/apply-template), then its
        tokenizer (/tokenize), as a chat request would do; None from any other engine or on failure."""
        if not (await self.engine()).grammar:
            return None
        body: dict[str, Any] = {"messages": [message_to_openai(m) for m in messages]}
        if tools is not None:
            body["tools"] = tools
        try:
            template = await self._client().post(f"{self._root}/apply-template", json=body)
            prompt = template.json().get("prompt") if template.status_code == 200 else None
            if not isinstance(prompt, str):
                return None
            tokens = await self._client().post(f"{self._root}/tokenize", json={
                "content": prompt, "add_special": True, "parse_special": True})
            counted = tokens.json().get("tokens") if tokens.status_code == 200 else None
        except (httpx.TransportError, ValueError):
            return None
        return len(counted) if isinstance(counted, list) else None

    async def _get_json(self, url: str) -> dict[str, Any] | None:
        try:
            resp = await self._client().get(url, timeout=min(self.timeout_s, 10.0))
            value = resp.json() if resp.status_code == 200 else None
        except (httpx.TransportError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    async def health(self) -> None:
        """Fail fast with a clear fix before a run, instead of after the first agent step."""
        url = f"{self.base_url}/models"
        try:
            resp = await self._client().get(url, timeout=min(self.timeout_s, 10.0))
        except httpx.TransportError as exc:
            raise ComemError(
                f"cannot reach the LLM server at {url} ({type(exc).__name__}).",
                fix="start the server or pass the right --agent-url/--memory-url.",
            ) from exc
        if resp.status_code >= 400:
            raise ComemError(
                f"the LLM server at {url} answered HTTP {resp.status_code}: {_error_message(resp.text)}",
                fix="check the URL and the API key (OPENAI_API_KEY).",
            )

    async def aclose(self) -> None:
        # A pool from an earlier, closed loop cannot be closed from this one; dropping it is all we can do.
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None
        self._http_loop = None


def _load_json(url: str, data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise LLMError(f"{url} sent malformed JSON: {data[:200]!r}") from exc
    if not isinstance(value, dict):
        raise LLMError(f"{url} sent JSON that is not an object: {data[:200]!r}")
    return value


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
