"""Translation between the two protocols, for an upstream that serves only the other one (an Anthropic client in
front of an OpenAI-only server, or the reverse): requests, whole responses, and streams event by event.

Only what both protocols can say crosses: text, images given as data, tool definitions, tool calls and their
results, sampling limits, usage. Anthropic `thinking` blocks have no OpenAI counterpart and are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from comem.gateway.wire.base import as_text, parse_arguments

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI clients may leave it out

_OPENAI_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_ANTHROPIC_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                   "refusal": "content_filter"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ((f"event: {event}\n" if event else "") + f"data: {text}\n\n").encode()


def sse_events(buffer: bytearray, chunk: bytes) -> list[dict[str, Any]]:
    """Complete `data:` events from a stream's bytes; an unfinished line stays in `buffer`."""
    buffer += chunk
    *lines, rest = bytes(buffer).split(b"\n")
    buffer[:] = rest
    events = []
    for line in lines:
        if line.startswith(b"data:"):
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def error_message(data: Any) -> str:
    """The message of an error body in either protocol's shape, or the body itself."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message") or data["error"])
    return str(data)[:2000]


# ------------------------------------------------------------------------- Anthropic client -> OpenAI upstream


def _image_url(block: dict[str, Any]) -> dict[str, Any] | None:
    source = _dict(block.get("source"))
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        return {"type": "image_url", "image_url": {"url": url}}
    if source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": source.get("url")}}
    return None


def _user_parts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts = []
    for block in blocks:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif block.get("type") == "image" and (image := _image_url(block)):
            parts.append(image)
    return parts


def anthropic_to_openai_request(body: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if body.get("system"):
        messages.append({"role": "system", "content": as_text(body["system"])})
    for message in body["messages"]:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else _dicts(content)
        if message["role"] == "assistant":
            calls = [{"id": b.get("id"), "type": "function",
                      "function": {"name": b.get("name"), "arguments": json.dumps(_dict(b.get("input")))}}
                     for b in blocks if b.get("type") == "tool_use"]
            out: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(str(b.get("text", "")) for b in blocks
                                                      if b.get("type") == "text") or None}
            if calls:
                out["tool_calls"] = calls
            messages.append(out)
            continue
        for block in blocks:  # tool results first: OpenAI wants them right after the assistant's calls
            if block.get("type") == "tool_result":
                messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id"),
                                 "content": as_text(block.get("content"))})
        parts = _user_parts(blocks)
        if parts:
            messages.append({"role": "user", "content": parts})
    out = {"model": body.get("model"), "messages": messages,
           "max_tokens": body.get("max_tokens") or DEFAULT_MAX_TOKENS}
    for key in ("temperature", "top_p", "stream"):
        if key in body:
            out[key] = body[key]
    if body.get("stream"):
        out["stream_options"] = {"include_usage": True}
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("tools"):
        out["tools"] = [{"type": "function", "function": {
            "name": t.get("name"), "description": t.get("description", ""),
            "parameters": t.get("input_schema") or {"type": "object"}}} for t in _dicts(body["tools"])]
    choice = _dict(body.get("tool_choice"))
    mapping = {"auto": "auto", "any": "required", "none": "none"}
    if choice.get("type") in mapping:
        out["tool_choice"] = mapping[choice["type"]]
    elif choice.get("type") == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    user = _dict(body.get("metadata")).get("user_id")
    if isinstance(user, str) and user:
        out["user"] = user
    return out


def _anthropic_usage(usage: dict[str, Any] | None) -> dict[str, int]:
    usage = _dict(usage)
    cached = _int(_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
    return {"input_tokens": _int(usage.get("prompt_tokens")) - cached, "cache_read_input_tokens": cached,
            "output_tokens": _int(usage.get("completion_tokens"))}


def openai_to_anthropic_response(data: dict[str, Any]) -> dict[str, Any]:
    choice = (_dicts(data.get("choices")) or [{}])[0]
    message = _dict(choice.get("message"))
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in _dicts(message.get("tool_calls")):
        function = _dict(call.get("function"))
        content.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"),
                        "input": parse_arguments(function.get("arguments"))})
    return {"id": data.get("id", "msg"), "type": "message", "role": "assistant", "model": data.get("model"),
            "content": content, "stop_reason": _OPENAI_STOP.get(choice.get("finish_reason"), "end_turn"),
            "stop_sequence": None, "usage": _anthropic_usage(data.get("usage"))}


class OpenAIToAnthropicStream:
    """OpenAI chat-completion chunks in, Anthropic message events out."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.started = self.finished = False
        self.block: int | None = None  # index of the open content block
        self.kind: str | None = None
        self.blocks = 0
        self.tool_blocks: dict[int, int] = {}  # OpenAI tool-call index -> block index
        self.stop = "end_turn"
        self.usage: dict[str, int] = {"output_tokens": 0}

    def _open(self, kind: str, start: dict[str, Any]) -> bytes:
        out = self._close()
        self.block, self.kind = self.blocks, kind
        self.blocks += 1
        return out + sse("content_block_start", {"type": "content_block_start", "index": self.block,
                                                 "content_block": start})

    def _close(self) -> bytes:
        if self.block is None:
            return b""
        out = sse("content_block_stop", {"type": "content_block_stop", "index": self.block})
        self.block = self.kind = None
        return out

    def feed(self, chunk: bytes) -> bytes:
        out = b""
        for event in sse_events(self.buffer, chunk):
            if not self.started:
                self.started = True
                out += sse("message_start", {"type": "message_start", "message": {
                    "id": event.get("id", "msg"), "type": "message", "role": "assistant", "model": event.get("model"),
                    "content": [], "stop_reason": None, "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0}}})
            if event.get("usage"):
                self.usage = _anthropic_usage(event["usage"])
            for choice in _dicts(event.get("choices")):
                delta = _dict(choice.get("delta"))
                if delta.get("content"):
                    if self.kind != "text":
                        out += self._open("text", {"type": "text", "text": ""})
                    out += sse("content_block_delta", {"type": "content_block_delta", "index": self.block,
                                                       "delta": {"type": "text_delta", "text": delta["content"]}})
                for call in _dicts(delta.get("tool_calls")):
                    index = call.get("index", 0)
                    function = _dict(call.get("function"))
                    if index not in self.tool_blocks:
                        out += self._open("tool_use", {"type": "tool_use", "id": call.get("id"),
                                                       "name": function.get("name"), "input": {}})
                        self.tool_blocks[index] = self.block  # type: ignore[assignment]
                    if function.get("arguments"):
                        out += sse("content_block_delta", {
                            "type": "content_block_delta", "index": self.tool_blocks[index],
                            "delta": {"type": "input_json_delta", "partial_json": function["arguments"]}})
                if choice.get("finish_reason"):
                    self.stop = _OPENAI_STOP.get(choice["finish_reason"], "end_turn")
        return out

    def end(self) -> bytes:
        if self.finished or not self.started:
            return b""
        self.finished = True
        return self._close() + sse("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": self.stop, "stop_sequence": None},
            "usage": self.usage}) + sse("message_stop", {"type": "message_stop"})


# ------------------------------------------------------------------------- OpenAI client -> Anthropic upstream


def _anthropic_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in _dicts(content):
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif part.get("type") == "image_url":
            url = str(_dict(part.get("image_url")).get("url", ""))
            if url.startswith("data:") and ";base64," in url:
                media, data = url[5:].split(";base64,", 1)
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}})
            else:
                blocks.append({"type": "image", "source": {"type": "url", "url": url}})
    return blocks


def openai_to_anthropic_request(body: dict[str, Any]) -> dict[str, Any]:
    system, messages = [], []  # type: ignore[var-annotated]
    for message in body["messages"]:
        role = message["role"]
        if role in ("system", "developer"):
            system.append(as_text(message.get("content")))
            continue
        if role == "tool":
            blocks = [{"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                       "content": as_text(message.get("content"))}]
            role = "user"
        elif role == "assistant":
            blocks = _anthropic_blocks(message.get("content"))
            blocks += [{"type": "tool_use", "id": c.get("id"), "name": _dict(c.get("function")).get("name"),
                        "input": parse_arguments(_dict(c.get("function")).get("arguments"))}
                       for c in _dicts(message.get("tool_calls"))]
        else:
            blocks = _anthropic_blocks(message.get("content"))
        if messages and messages[-1]["role"] == role:  # Anthropic alternates roles: merge a run of one role
            messages[-1]["content"] += blocks
        else:
            messages.append({"role": role, "content": blocks})
    out: dict[str, Any] = {"model": body.get("model"), "messages": messages,
                           "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens")
                           or DEFAULT_MAX_TOKENS}
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p", "stream"):
        if key in body:
            out[key] = body[key]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else _list(stop)
    if body.get("tools"):
        out["tools"] = [{"name": _dict(t.get("function")).get("name"),
                         "description": _dict(t.get("function")).get("description", ""),
                         "input_schema": _dict(t.get("function")).get("parameters") or {"type": "object"}}
                        for t in _dicts(body["tools"])]
    choice = body.get("tool_choice")
    if choice in ("auto", "none"):
        out["tool_choice"] = {"type": choice}
    elif choice == "required":
        out["tool_choice"] = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out["tool_choice"] = {"type": "tool", "name": choice["function"].get("name")}
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    return out


def _openai_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    usage = _dict(usage)
    cached = _int(usage.get("cache_read_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + cached + _int(usage.get("cache_creation_input_tokens"))
    completion = _int(usage.get("output_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def anthropic_to_openai_response(data: dict[str, Any]) -> dict[str, Any]:
    blocks = _dicts(data.get("content"))
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = [{"id": b.get("id"), "type": "function",
              "function": {"name": b.get("name"), "arguments": json.dumps(_dict(b.get("input")))}}
             for b in blocks if b.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return {"id": data.get("id", "chatcmpl"), "object": "chat.completion", "created": 0, "model": data.get("model"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": _ANTHROPIC_STOP.get(data.get("stop_reason"), "stop")}],
            "usage": _openai_usage(data.get("usage"))}


class AnthropicToOpenAIStream:
    """Anthropic message events in, OpenAI chat-completion chunks out."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.base: dict[str, Any] = {"id": "chatcmpl", "object": "chat.completion.chunk", "created": 0, "model": None}
        self.tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool-call index
        self.usage: dict[str, Any] = {}
        self.finished = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(None, {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    def feed(self, chunk: bytes) -> bytes:
        out = b""
        for event in sse_events(self.buffer, chunk):
            kind = event.get("type")
            if kind == "message_start":
                message = _dict(event.get("message"))
                self.base.update(id=message.get("id", "chatcmpl"), model=message.get("model"))
                self.usage = dict(_dict(message.get("usage")))
                out += self._chunk({"role": "assistant", "content": ""})
            elif kind == "content_block_start" and _dict(event.get("content_block")).get("type") == "tool_use":
                block = event["content_block"]
                index = self.tools[event.get("index", 0)] = len(self.tools)
                out += self._chunk({"tool_calls": [{"index": index, "id": block.get("id"), "type": "function",
                                                    "function": {"name": block.get("name"), "arguments": ""}}]})
            elif kind == "content_block_delta":
                delta = _dict(event.get("delta"))
                if delta.get("type") == "text_delta":
                    out += self._chunk({"content": delta.get("text", "")})
                elif delta.get("type") == "input_json_delta" and event.get("index") in self.tools:
                    out += self._chunk({"tool_calls": [{"index": self.tools[event["index"]],
                                                        "function": {"arguments": delta.get("partial_json", "")}}]})
            elif kind == "message_delta":
                self.usage.update(_dict(event.get("usage")))
                stop = _dict(event.get("delta")).get("stop_reason")
                out += self._chunk({}, _ANTHROPIC_STOP.get(stop, "stop"))
            elif kind == "message_stop":
                out += self.end()
        return out

    def end(self) -> bytes:
        if self.finished:
            return b""
        self.finished = True
        return sse(None, {**self.base, "choices": [], "usage": _openai_usage(self.usage)}) + sse(None, "[DONE]")


class Translation(NamedTuple):
    """How requests of one protocol reach an upstream of the other, and how its answers come back."""

    request: Callable[[dict[str, Any]], dict[str, Any]]
    response: Callable[[dict[str, Any]], dict[str, Any]]
    stream: Callable[[], OpenAIToAnthropicStream | AnthropicToOpenAIStream]


TRANSLATIONS: dict[tuple[str, str], Translation] = {  # (client protocol, upstream protocol)
    ("anthropic", "openai"): Translation(anthropic_to_openai_request, openai_to_anthropic_response,
                                         OpenAIToAnthropicStream),
    ("openai", "anthropic"): Translation(openai_to_anthropic_request, anthropic_to_openai_response,
                                         AnthropicToOpenAIStream),
}
