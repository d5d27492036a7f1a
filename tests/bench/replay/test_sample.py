"""The default replay workload: scripted walks through bundled tasks with the real tools, deterministic text,
real observations, and a history that grows to a few thousand tokens."""

from __future__ import annotations

import asyncio

import pytest

from comem.bench.replay.sample import history_tokens, sample_trajectories
from comem.core.actions import parse_action
from comem.core.errors import ComemError
from comem.core.records import Completion
from comem.trajectories.sources import RecordedTrajectory


def text_of(recs: list[RecordedTrajectory]) -> list[dict]:
    """Everything but the measured tool times."""
    return [r.model_dump(exclude={"steps": {"__all__": {"tool_s"}}}) for r in recs]


@pytest.fixture(scope="module")
def default() -> list[RecordedTrajectory]:
    return sample_trajectories()


def test_default_shape(default: list[RecordedTrajectory]) -> None:
    assert len(default) == 2 and len({r.name for r in default}) == 2
    for rec in default:
        assert [s.index for s in rec.steps] == list(range(16))
        assert all(s.observation.strip() for s in rec.steps)
        assert "Fix the following issue" in rec.task and "file_editor(" in rec.system
        assert {s.action.name for s in rec.steps} == {"file_editor", "search", "bash"}
        assert all(s.tool_s >= 0 for s in rec.steps)
        assert all(s.tool_s > 0 for s in rec.steps if "pytest" in s.action.arguments.get("command", ""))  # ran
        assert "/tmp" not in "".join(s.observation for s in rec.steps)


def test_replies_are_what_the_agent_writes(default: list[RecordedTrajectory]) -> None:
    for step in default[0].steps:
        parsed = parse_action(Completion(text=step.response), ["bash", "file_editor", "search", "submit"])
        assert parsed.call == step.action and parsed.thought == step.thought
        assert step.thought.endswith(".") and "\n" not in step.thought
        assert step.completion_tokens > 0


def test_history_grows_to_a_few_thousand_tokens(default: list[RecordedTrajectory]) -> None:
    for rec in default:
        grown = history_tokens(rec)
        assert all(b > a for a, b in zip(grown, grown[1:], strict=False))
        assert 3000 <= grown[-1] <= 9000
        assert max(g - f for f, g in zip(grown, grown[1:], strict=False)) >= 300  # some big file reads


def test_the_walk_edits_then_checks(default: list[RecordedTrajectory]) -> None:
    edit, diff, tests = default[0].steps[-3:]
    assert edit.action.arguments["command"] == "insert"
    assert diff.action.arguments["command"] == "git diff" and "# Fix for the issue" in diff.observation
    assert "pytest" in tests.action.arguments["command"] and "passed" in tests.observation


def test_text_is_deterministic_per_seed(default: list[RecordedTrajectory]) -> None:
    assert text_of(sample_trajectories()) == text_of(default)
    other = sample_trajectories(n=2, steps=16, seed=1)
    assert text_of(other) != text_of(default)


def test_step_counts_short_and_long() -> None:
    (short,) = sample_trajectories(n=1, steps=2)
    assert [s.action.arguments.get("path") for s in short.steps] == [".", None]  # listing, then a search
    (long,) = sample_trajectories(n=1, steps=40)
    assert len(long.steps) == 40 and all(s.observation.strip() for s in long.steps)
    assert any("view_range" in s.action.arguments for s in long.steps)


def test_more_trajectories_than_tasks_get_unique_names() -> None:
    recs = sample_trajectories(n=13, steps=1)
    assert len({r.name for r in recs}) == 13


def test_callable_inside_a_running_loop() -> None:
    async def inside() -> list[RecordedTrajectory]:
        return sample_trajectories(n=1, steps=3)

    assert len(asyncio.run(inside())[0].steps) == 3


def test_bad_arguments() -> None:
    with pytest.raises(ComemError, match="n >= 1") as err:
        sample_trajectories(n=0)
    assert err.value.fix
