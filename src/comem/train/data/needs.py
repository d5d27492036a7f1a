"""Does a record's next action need what only the summarised outputs said?

A memory earns its reward where the agent's next action uses something it could only have read in an old output:
a line number from a listing, a name printed by a test run, a path found by a search. Where the action's names
all stand in the task, the system prompt, the agent's own earlier calls or the raw window, any memory (or none,
under `keep_calls`) lets the agent act alike, and the action-consistency reward cannot rank memories there
(docs/results.md §9.10). The rule (which names count, and where they must not stand) is
`comem.train.reward.needed_names`, which also scores summaries by it; here it applies to GRPO records.

eval-memory's "needed names kept" is `kept_share` of these names in a condition's context: no other part of the
context holds them, so the share is what the memory kept of what the next action needs (0 for no memory, 1 for
the full history); it needs no agent, so it separates memories where the agent's own choices are too noisy to.
"""

from __future__ import annotations

from comem.train.data.records import GrpoRecord
from comem.train.reward.needed_names import needed_names


def output_only_names(record: GrpoRecord) -> list[str]:
    """The reference action's names that only the covered steps' outputs hold."""
    return needed_names(record.system_prompt, record.task_prompt, record.history_steps(), record.covered,
                        record.reference())

