"""Context strategies, registered by name: full, mask, sync, kso."""

from comem.context import full, kso, mask, sync  # noqa: F401  (importing registers them)
from comem.context.base import AgentContext, ContextStrategy, Pinned, lookup, strategy_names

__all__ = ["AgentContext", "ContextStrategy", "Pinned", "lookup", "strategy_names"]
