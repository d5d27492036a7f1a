"""The wire protocols the gateway speaks: one module each, one shared shape (`base.Wire`)."""

from comem.gateway.wire.anthropic import AnthropicMessages
from comem.gateway.wire.base import Conversation, Turn, Usage, Wire
from comem.gateway.wire.openai import OpenAIChat

WIRES: dict[str, Wire] = {w.name: w for w in (OpenAIChat(), AnthropicMessages())}

__all__ = ["WIRES", "AnthropicMessages", "Conversation", "OpenAIChat", "Turn", "Usage", "Wire"]
