"""What every wire protocol gives the gateway: the conversation a request carries, as turns mapped to steps, and
the request rewritten to summary + recent turns.

A turn is one assistant message plus everything up to the next one (its tool results, any user text): exactly
one step of the agent loop. Turns are cut only before an assistant message, so a tool call and its result are
never separated and tool-call ids stay as the client wrote them. One exception: a user message right after
another user message starts a turn of its own with no assistant message (agents such as mini-swe-agent drop a
reply they could not parse and send only their note about it), so a turn's content never changes once sent.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from comem.context.mask import MaskConfig, placeholder
from comem.core.records import Step, ToolCall

MASK = MaskConfig()  # the placeholder of a masked result: the `mask` strategy's


@dataclass
class Turn:
    """Messages [start, end) of the request: one assistant message and what followed it."""

    start: int
    end: int
    step: Step  # its content in the agent loop's terms (no timings): what the memory model reads
    complete: bool  # something followed the assistant message (an assistant prefill at the end is not a step)

    @property
    def fingerprint(self) -> str:
        """Identifies the turn's content whatever the client re-serialised (key order, cache_control markers)."""
        action = self.step.action.model_dump(mode="json") if self.step.action else None
        text = json.dumps([self.step.response, action, self.step.observation], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class Conversation:
    """A request's history: the pinned head (system prompt, tools, first user message) and the turns after it."""

    model: str
    system: str
    tools_key: str  # a hash of the tool definitions: part of the session's identity
    task: str  # the first user message as text
    head_end: int  # messages[:head_end] are the head; the summary goes into messages[head_end - 1]
    turns: list[Turn] = field(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        """The complete turns as steps, indexed from 0."""
        return [t.step for t in self.turns if t.complete]


@dataclass
class Usage:
    """What the upstream reported about one call (zeros when it reported nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None


def turn_bounds(roles: list[str], start: int) -> list[tuple[int, int]]:
    """[begin, end) of each turn of messages[start:], by role (see the module docstring)."""
    begins = [i for i in range(start, len(roles))
              if roles[i] == "assistant" or i == start or (roles[i] == "user" and roles[i - 1] == "user")]
    return list(zip(begins, [*begins[1:], len(roles)], strict=True)) if begins else []


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
                          ).hexdigest()[:16]


def make_step(index: int, text: str, calls: list[ToolCall], results: list[str]) -> Step:
    """A turn as a step: the first tool call is the action; further calls of the same turn are named in the
    thought, so the memory model still reads them."""
    thought = text
    for extra in calls[1:]:
        thought += f"\n[also called {extra.name} with {json.dumps(extra.arguments, ensure_ascii=False)}]"
    return Step(index=index, thought=thought.strip(), response=text, action=calls[0] if calls else None,
                observation="\n".join(results))


def parse_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments as a mapping, whatever the client sent (a JSON string, a mapping, or junk)."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"arguments": raw}
        return value if isinstance(value, dict) else {"arguments": value}
    return {} if raw is None else {"arguments": raw}


class BadRequest(ValueError):
    """The request's body is not a valid request of its protocol (answered with a 400 in the protocol's shape)."""


class Wire(ABC):
    """One wire protocol: where it is served, how its requests read and are rewritten, how it reports errors."""

    name: str
    path: str  # the route under /v1, also the upstream's path

    @abstractmethod
    def conversation(self, body: dict[str, Any]) -> Conversation:
        """The request's history. Raises BadRequest when the body is not this protocol's request."""

    @abstractmethod
    def assistant(self, message: dict[str, Any]) -> tuple[str, list[ToolCall]]:
        """An assistant message's text and tool calls."""

    def add_turns(self, conv: Conversation, messages: list[dict[str, Any]], start: int) -> None:
        """The turns of messages[start:] (after the head) as steps; a turn led by a user message has no reply."""
        for begin, end in turn_bounds([m["role"] for m in messages], start):
            led = messages[begin]["role"] == "assistant"
            text, calls = self.assistant(messages[begin]) if led else ("", [])
            step = make_step(len(conv.turns), text, calls,
                             [as_text(m.get("content")) for m in messages[begin + led:end]])
            conv.turns.append(Turn(start=begin, end=end, step=step, complete=end > begin + 1 or not led))

    def rewrite(self, body: dict[str, Any], conv: Conversation, block: str, raw_from: int, *,
                keep_calls: bool = False) -> dict[str, Any]:
        """The body with turns [0, raw_from) dropped and `block` (the memory text) appended to the first user
        message. Everything else (system, tools, unknown fields, cache_control) is kept as it was; in both
        protocols the messages after the head then start with an assistant turn, so roles still alternate.

        With `keep_calls` those turns stay, each assistant message as it was and what answered it masked (the
        `mask` strategy's placeholder), `block` after the last one's (context/memory.py)."""
        messages = body["messages"]
        cut = conv.turns[raw_from].start if raw_from < len(conv.turns) else len(messages)
        if keep_calls:
            return {**body, "messages": messages[:conv.head_end] + self.masked_turns(messages, conv, raw_from, block)
                    + messages[cut:]}
        task = messages[conv.head_end - 1]
        head = [*messages[:conv.head_end - 1], {**task, "content": append_text(task.get("content"), block)}]
        return {**body, "messages": head + messages[cut:]}

    def masked_turns(self, messages: list[dict[str, Any]], conv: Conversation, raw_from: int,
                     block: str) -> list[dict[str, Any]]:
        """Turns [0, raw_from) with their calls and masked results, `block` closing the last result."""
        out: list[dict[str, Any]] = []
        for number, turn in enumerate(conv.turns[:raw_from], start=1):
            led = messages[turn.start]["role"] == "assistant"
            out += messages[turn.start:turn.start + led]
            text = placeholder(MASK, number, turn.step.observation)
            answers = messages[turn.start + led:turn.end]
            out += [self.masked(message, text) for message in answers]
        if out and block:
            out[-1] = {**out[-1], "content": append_text(out[-1].get("content"), block)}
        return out

    def masked(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """A message that answered a call (a tool result, or user text), its content replaced by `text`; ids and
        other fields kept. Default: the whole content."""
        return {**message, "content": text}

    @abstractmethod
    def client_session(self, body: dict[str, Any]) -> str | None:
        """A session id the client put in the body itself, if any."""

    @abstractmethod
    def error(self, status: int, message: str) -> dict[str, Any]:
        """An error object in the protocol's shape."""

    @abstractmethod
    def usage(self, data: dict[str, Any]) -> Usage | None:
        """Token usage from a response body or a stream event, if it holds any."""

    @abstractmethod
    def has_content(self, event: dict[str, Any]) -> bool:
        """A stream event carries generated content (its arrival is the time to first token)."""


def as_text(content: Any) -> str:
    """Plain text of a message content in either protocol: a string, or a list of parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif part.get("type") == "tool_result":
                    parts.append(as_text(part.get("content")))
                elif part.get("type") in ("image", "image_url", "input_image", "document"):
                    parts.append(f"[{part['type']}]")
        return "\n".join(parts)
    return str(content)


def append_text(content: Any, text: str) -> Any:
    """`content` with `text` added at its end: joined to a string, or as one more text part of a list (so the
    parts before it, with their cache_control markers, are kept as they were)."""
    if isinstance(content, list):
        return [*content, {"type": "text", "text": text}]
    return as_text(content) + text


def count(value: Any) -> int:
    """A token count as an upstream reported it: an integer, else 0 (a broken upstream must not break a request)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def text_or_none(value: Any) -> str | None:
    """An id as the records hold it: a string, or None for anything else a client sent."""
    return value if isinstance(value, str) else None
