"""OpenAI Chat Completions (`POST /v1/chat/completions`): messages with roles, `tool_calls`, `role: tool` replies."""

from __future__ import annotations

from typing import Any

from comem.core.records import ToolCall
from comem.gateway.wire.base import (
    BadRequest,
    Conversation,
    Usage,
    Wire,
    as_text,
    count,
    digest,
    parse_arguments,
    text_or_none,
)

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                413: "request_too_large", 429: "rate_limit_error"}


def messages_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a string `role`")
    return messages


def _calls(message: dict[str, Any]) -> list[ToolCall]:
    calls = []
    tool_calls = message.get("tool_calls")
    for call in tool_calls if isinstance(tool_calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            calls.append(ToolCall(name=str(function.get("name") or ""), id=text_or_none(call.get("id")),
                                  arguments=parse_arguments(function.get("arguments"))))
    return calls


class OpenAIChat(Wire):
    name = "openai"
    path = "/chat/completions"

    def conversation(self, body: dict[str, Any]) -> Conversation:
        messages = messages_of(body)
        i = 0
        while i < len(messages) and messages[i]["role"] in ("system", "developer"):
            i += 1
        system = "\n".join(as_text(m.get("content")) for m in messages[:i])
        conv = Conversation(model=str(body.get("model", "")), system=system, tools_key=digest(body.get("tools")),
                            task="", head_end=0)
        if i < len(messages) and messages[i]["role"] == "user":  # the first user message: the task, pinned
            conv.task, conv.head_end = as_text(messages[i].get("content")), i + 1
            i += 1
        self.add_turns(conv, messages, i)
        return conv

    def assistant(self, message: dict[str, Any]) -> tuple[str, list[ToolCall]]:
        return as_text(message.get("content")), _calls(message)

    def client_session(self, body: dict[str, Any]) -> str | None:
        for key in ("prompt_cache_key", "user"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
        return None

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(status, "upstream_error" if status in (502, 504) else "api_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": status}}

    def usage(self, data: dict[str, Any]) -> Usage | None:
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return None
        details = usage.get("prompt_tokens_details") or {}
        return Usage(prompt_tokens=count(usage.get("prompt_tokens")),
                     completion_tokens=count(usage.get("completion_tokens")),
                     cached_tokens=count(details.get("cached_tokens")) if isinstance(details, dict)
                     and details.get("cached_tokens") is not None else None)

    def has_content(self, event: dict[str, Any]) -> bool:
        choices = event.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and any(delta.get(k) for k in ("content", "tool_calls", "reasoning_content")):
                return True
        return False
