"""The memory model's training reward: how well the frozen agent's next action matches the reference
(docs/method.md §7).

Heavy dependencies stay out: this package needs only the standard library, pydantic and the agent client.
"""

from comem.train.reward.action_match import ActionScore, action_consistency, parse_xml_action, score_actions
from comem.train.reward.agent_reward import (
    REWARD_COLUMNS,
    ActionConsistencyReward,
    RewardStats,
    agent_action,
    agent_messages,
)

__all__ = [
    "REWARD_COLUMNS",
    "ActionConsistencyReward",
    "ActionScore",
    "RewardStats",
    "action_consistency",
    "agent_action",
    "agent_messages",
    "parse_xml_action",
    "score_actions",
]
