"""An agent-free reward: the share of the names the next action needs, and only summarised outputs held, that a
summary keeps.

The action-consistency reward (agent_reward.py) asks a frozen agent for its next action; where that agent does
not follow a course even with the whole history (docs/results.md §9.11: the bundled 1.5B on research records,
2.33 of 10 under full context), it scores a memory by the agent's habits, and an empty summary scores with one
that kept every link. This reward reads the record instead: the names of the reference action's arguments that
occur in a summarised step's output and nowhere else the agent looks (the system prompt, the task, the agent's own
calls, the raw window; words of at least 4 identifier or path characters starting with a letter or `_`, and
numbers of 2 digits or more), and scores 10 x the share of them the summary contains. A record that needs none
scores 0 for every summary, so GRPO's group-normalised advantage leaves it out. It needs no model, so a CPU GRPO
step costs the memory model's own sampling and update only. `train/data/needs.py` applies the same rule to
records (`--needs-outputs`, eval-memory's "needed names kept").
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from comem.core.errors import ComemError
from comem.core.records import Step, ToolCall
from comem.train.reward.agent_reward import completion_text

_NAME = re.compile(r"[A-Za-z_][\w./-]{3,}|(?<![\w.])\d{2,}(?![\w.])")
NEEDED_COLUMNS = ("system_prompt", "task_prompt", "history", "covered", "reference_action")


def _names(text: str) -> set[str]:
    return set(_NAME.findall(text))


def needed_names(system: str, task: str, history: list[Step], covered: int, reference: ToolCall) -> list[str]:
    """The reference action's names that only the outputs of steps [0, covered) hold (see the module doc)."""
    summarised, raw = history[:covered], history[covered:]
    seen = _names(system) | _names(task)
    seen |= {n for s in summarised for n in _names(s.turn_text)}
    seen |= {n for s in raw for n in _names(s.turn_text + "\n" + s.observation)}
    in_outputs = {n for s in summarised for n in _names(s.observation)}
    wanted = _names(json.dumps(reference.arguments, ensure_ascii=False))
    return sorted(wanted & in_outputs - seen)


def kept_share(needed: list[str], text: str) -> float | None:
    """The share of `needed` that `text` contains; None when nothing is needed."""
    return sum(name in text for name in needed) / len(needed) if needed else None


class NeededNamesReward:
    """TRL reward function: 10 x `kept_share` of each completion, from the GRPO records' columns."""

    __name__ = name = "needed_names"

    def __call__(self, completions: list[Any], **columns: Any) -> list[float]:
        missing = [c for c in NEEDED_COLUMNS if c not in columns]
        if missing:
            raise ComemError(f"The needed-names reward needs dataset columns {', '.join(missing)}.",
                             fix="build the GRPO data with `comem train data grpo`.")
        rewards = []
        for i, completion in enumerate(completions):
            try:
                history = [Step.model_validate(s) for s in json.loads(columns["history"][i])]
                reference = ToolCall.model_validate_json(columns["reference_action"][i])
            except (ValueError, ValidationError, TypeError):
                raise ComemError(f"Reward row {i} has a malformed history or reference_action.",
                                 fix="rebuild the GRPO data with `comem train data grpo`.") from None
            needed = needed_names(columns["system_prompt"][i], columns["task_prompt"][i], history,
                                  int(columns["covered"][i]), reference)
            rewards.append(10.0 * (kept_share(needed, completion_text(completion)) or 0.0))
        return rewards
