"""Anthropic Messages (`POST /v1/messages`): `system` apart, alternating user/assistant messages of content blocks,
`tool_use` blocks answered by `tool_result` blocks in the next user message."""

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
    text_or_none,
)
from comem.gateway.wire.openai import messages_of

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _calls(content: Any) -> list[ToolCall]:
    return [ToolCall(name=str(b.get("name") or ""), id=text_or_none(b.get("id")),
                     arguments=b["input"] if isinstance(b.get("input"), dict) else {})
            for b in _blocks(content) if b.get("type") in ("tool_use", "server_tool_use")]


def _text(content: Any) -> str:
    return "\n".join(b["text"] for b in _blocks(content) if b.get("type") == "text" and isinstance(b.get("text"), str))


class AnthropicMessages(Wire):
    name = "anthropic"
    path = "/messages"

    def conversation(self, body: dict[str, Any]) -> Conversation:
        messages = messages_of(body)
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            raise BadRequest("`system` must be a string or a list of text blocks")
        conv = Conversation(model=str(body.get("model", "")), system=as_text(system),
                            tools_key=digest(body.get("tools")), task="", head_end=0)
        i = 0
        if messages[0]["role"] == "user":  # the first user message: the task, pinned
            conv.task, conv.head_end, i = as_text(messages[0].get("content")), 1, 1
        self.add_turns(conv, messages, i)
        return conv

    def assistant(self, message: dict[str, Any]) -> tuple[str, list[ToolCall]]:
        return _text(message.get("content")), _calls(message.get("content"))

    def masked(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """Each `tool_result` block keeps its `tool_use_id` with `text` as its content (the other blocks go), so
        every `tool_use` of the message before it is still answered; a message with no result becomes `text`."""
        results = [{**b, "content": text} for b in _blocks(message.get("content")) if b.get("type") == "tool_result"]
        return {**message, "content": results or text}

    def client_session(self, body: dict[str, Any]) -> str | None:
        metadata = body.get("metadata")
        user = metadata.get("user_id") if isinstance(metadata, dict) else None
        return user if isinstance(user, str) and user else None

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}

    def usage(self, data: dict[str, Any]) -> Usage | None:
        usage = data.get("usage")
        if data.get("type") == "message_start" and isinstance(data.get("message"), dict):
            usage = data["message"].get("usage")
        if not isinstance(usage, dict):
            return None
        cached = usage.get("cache_read_input_tokens")
        prompt = sum(count(usage.get(k)) for k in ("input_tokens", "cache_read_input_tokens",
                                                      "cache_creation_input_tokens"))
        return Usage(prompt_tokens=prompt, completion_tokens=count(usage.get("output_tokens")),
                     cached_tokens=count(cached) if cached is not None else None)

    def has_content(self, event: dict[str, Any]) -> bool:
        return event.get("type") == "content_block_delta" or (
            event.get("type") == "content_block_start"
            and isinstance(event.get("content_block"), dict)
            and event["content_block"].get("type") in ("tool_use", "server_tool_use"))
