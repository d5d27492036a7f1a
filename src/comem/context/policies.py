"""Context policies over a recorded history: what the agent would see at step t, without running an episode.

The live strategies (full, mask, sync, kso) build their contexts step by step; offline evaluation of a memory
model (`comem eval-memory`) and the training reward need the same views of a recorded history at one step:

- `none`: the pinned prompts and a raw window of recent steps, no summary (what a summary adds is measured
  against this);
- `truncate`: the pinned prompts and the most recent whole steps within a token budget (at least the last one);
- `ledger`: the memory view with the ledger of the covered steps and no summary (context/ledger.py): what a
  `memory_view: ledger` arm shows, with no memory model;
- `recent`: the memory view with the newest covered steps, a line each (context/recent.py), as the summary;
- `mask`: every step's thought and call, the observations before the last few as placeholders (context/mask.py,
  the `mask` strategy's defaults): observation masking, the field's cheap baseline for summarisation;
- `full`: the whole history, the upper bound;
- `summary_view`: the view once a summary is installed, as the live memory strategies and the reward show it.
"""

from __future__ import annotations

from comem.context.base import Pinned, estimate_tokens, history_messages
from comem.context.ledger import ledger_text
from comem.context.mask import MaskConfig, masked_steps
from comem.context.memory import MemorySettings, summary_messages
from comem.context.recent import recent_text
from comem.core.records import Message, Step

POLICIES = ("none", "truncate", "ledger", "recent", "mask", "full")
LEDGER_TOKENS = MemorySettings().ledger_tokens
CURRENT_QUERY = "\n## Current User Query:\n{observation}\n"


def recent_within(steps: list[Step], budget: int) -> list[Step]:
    """The longest suffix of whole steps within `budget` estimated tokens (reply + observation); at least the
    last step."""
    kept, used = [], 0
    for step in reversed(steps):
        cost = estimate_tokens(step.response) + estimate_tokens(step.observation)
        if kept and used + cost > budget:
            break
        kept.append(step)
        used += cost
    return kept[::-1]


def policy_messages(policy: str, pinned: Pinned, history: list[Step], raw_window: list[Step], *,
                    truncate_tokens: int, ledger_tokens: int = LEDGER_TOKENS, recent_tokens: int,
                    keep_calls: bool = False) -> list[Message]:
    """The agent's context at step len(history) under a policy without a memory model (see the module docstring);
    `raw_window` is the raw steps a memory condition would show (`none` shows them, or the last step; `ledger`
    shows them after the ledger of the steps before them, framed as `summary_view` frames a summary; `recent`
    shows its line-a-step list where a summary goes). With `keep_calls` these three also show the covered steps'
    calls with masked outputs, as a `keep_calls` arm does: `none` is then the calls without a memory block."""
    covered = len(history) - len(raw_window)
    last = history[-1].observation if history and not raw_window else None
    kept = history[:covered] if keep_calls else None
    if policy == "none":
        if keep_calls:  # the covered calls with masked outputs, and no memory block
            return summary_view(pinned, "", covered, raw_window, last_observation=last, kept=kept)
        return history_messages(pinned, raw_window or history[-1:])
    if policy == "truncate":
        return history_messages(pinned, recent_within(history, truncate_tokens))
    if policy in ("ledger", "recent"):  # a memory view with no model: framed as `summary_view` frames a summary
        if policy == "ledger":
            return summary_view(pinned, "", covered, raw_window, last_observation=last, kept=kept,
                                ledger=ledger_text(history[:covered], pinned.task, ledger_tokens))
        return summary_view(pinned, recent_text(history[:covered], recent_tokens), covered, raw_window,
                            last_observation=last, kept=kept)
    if policy == "mask":
        return history_messages(pinned, []) + masked_steps(history, MaskConfig())
    if policy == "full":
        return history_messages(pinned, history)
    raise ValueError(f"not a context policy: {policy!r} (use one of {', '.join(POLICIES)})")


def summary_view(pinned: Pinned, summary: str, covered: int, raw_steps: list[Step], *,
                 last_observation: str | None, ledger: str = "", kept: list[Step] | None = None) -> list[Message]:
    """What the agent sees once the memory (summary, ledger or both) of steps [0, covered) is installed (training
    reward and evaluation); `kept`: the covered steps, whose calls stay under `keep_calls` (`summary_messages`).

    When `raw_steps` is empty, the verbatim `last_observation` (that of step covered-1) is appended to the user
    message as the current query, as the original's training framing did (docs/method.md §7); with raw steps it
    is ignored, since the last raw step already ends with it.
    """
    messages = summary_messages(pinned, summary, covered, raw_steps, ledger=ledger, kept=kept)
    if raw_steps or not last_observation:
        return messages
    last = messages[-1]
    query = CURRENT_QUERY.replace("{observation}", last_observation)
    return [*messages[:-1], last.model_copy(update={"content": last.content + query})]
