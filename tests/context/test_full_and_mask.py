"""The two memory-free strategies: append-only history, and observation masking."""

from __future__ import annotations

import pytest

from comem.context import strategy_names
from comem.context.policies import policy_messages
from comem.core.errors import ComemError
from tests.context.helpers import PINNED, build, drive, make_step, raw_steps


def test_registry_names_and_unknown_name() -> None:
    assert strategy_names() == ["full", "kso", "mask", "sync"]
    with pytest.raises(ComemError, match="full, kso, mask, sync"):
        build("summarise-everything")


def test_full_is_append_only() -> None:
    seen = drive(build("full")[0], 6)
    for n, ctx in enumerate(seen):
        assert raw_steps(ctx) == list(range(n))
        if n:
            previous = seen[n - 1].messages
            assert ctx.messages[: len(previous)] == previous  # each prompt extends the last: prefix-cache friendly


def test_mask_keeps_last_observations_and_all_actions() -> None:
    seen = drive(build("mask", keep_last=2)[0], 6)
    last = seen[-1]
    assert last.messages[0].content == PINNED.system and last.messages[1].content == PINNED.task
    observations = [m.content for m in last.messages[2:] if m.role == "user"]
    assert observations[-2:] == ["output-3", "output-4"]
    assert all(o.startswith("[Output of step") for o in observations[:-2])
    assert raw_steps(last) == [0, 1, 2, 3, 4]  # thoughts and actions stay


def test_eval_memory_mask_condition_is_the_live_mask_context() -> None:
    """`comem eval-memory --baselines mask` scores what a `mask` arm with its defaults shows at that step."""
    seen = drive(build("mask")[0], 7)
    steps = [make_step(i) for i in range(7)]
    for n, ctx in enumerate(seen):
        assert policy_messages("mask", PINNED, steps[:n], steps[n - 1:n], truncate_tokens=0,
                               recent_tokens=0) == ctx.messages
    observations = [m.content for m in seen[-1].messages[2:] if m.role == "user"]
    assert observations[-3:] == ["output-3", "output-4", "output-5"] and "omitted" in observations[0]
