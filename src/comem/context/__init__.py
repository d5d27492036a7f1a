"""Context strategies, registered by name: full, mask, sync, kso; and the arm type built from their configs."""

from comem.context import full, kso, mask, sync  # noqa: F401  (importing registers them; before arms)
from comem.context.arms import ArmConfig, parse_arm, parse_arm_spec, validate_arm, with_defaults, with_options
from comem.context.base import (
    AgentContext,
    ContextStrategy,
    Pinned,
    StrategyConfig,
    build_strategy,
    lookup,
    strategy_names,
)

__all__ = ["AgentContext", "ArmConfig", "ContextStrategy", "Pinned", "StrategyConfig", "build_strategy", "lookup",
           "parse_arm", "parse_arm_spec", "strategy_names", "validate_arm", "with_defaults", "with_options"]
