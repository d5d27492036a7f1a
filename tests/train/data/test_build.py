"""GRPO records from real trajectories: one per target step, the cut at covered = t - retain, the memory prompt
exactly as evaluation builds it, and a split that never puts one task on both sides."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comem.bench.replay.sample import sample_trajectories
from comem.context.memory import MemoryInput, MemorySettings
from comem.core.errors import ComemError
from comem.core.records import Step, ToolCall
from comem.train.data.build import (
    BuildOptions,
    TaskSplit,
    build_grpo,
    build_grpo_records,
    parse_retain,
    shuffle_cap,
    split_by_task,
)
from comem.train.data.records import GrpoRecord
from comem.trajectories.sources import RecordedTrajectory, load_recorded
from tests.train.data.helpers import write_trajectory

STEPS = 6


@pytest.fixture(scope="module")
def trajectories() -> list[RecordedTrajectory]:
    """Walks over bundled tasks with the real tools: real observations, six steps each."""
    return sample_trajectories(n=2, steps=STEPS)


def by_id(records: list[GrpoRecord]) -> dict[str, GrpoRecord]:
    return {r.record_id: r for r in records}


@pytest.mark.parametrize("retain", [0, 1, 2])
def test_one_record_per_target_step_cut_at_covered(trajectories: list[RecordedTrajectory], retain: int) -> None:
    records = by_id(build_grpo_records(trajectories, retain=retain, source="sample"))
    memory = MemoryInput(MemorySettings())
    for traj in trajectories:
        targets = [t for t in range(1, STEPS) if t - retain >= 1]
        assert [r.target_step for r in records.values() if r.task_id == traj.name] == targets
        for t in targets:
            rec, covered = records[f"{traj.name}:{t}"], t - retain
            assert (rec.retain, rec.covered, rec.source, rec.variant) == (retain, covered, "sample", "swe")
            assert rec.raw() == traj.steps[covered:t]
            assert rec.history_steps() == traj.steps[:t]
            assert rec.last_observation == traj.steps[t - 1].observation
            assert rec.reference() == traj.steps[t].action
            assert (rec.system_prompt, rec.task_prompt) == (traj.system, traj.task)
            expected = memory.prompt(memory.conversation(traj.system, traj.task, traj.steps[:covered], None))
            assert [turn.model_dump() for turn in rec.prompt] == [{"role": "user", "content": expected}]


def test_retain_zero_is_the_original_setting(trajectories: list[RecordedTrajectory]) -> None:
    """The memory model sees the entire history; the agent has no raw step, only the last observation."""
    rec = by_id(build_grpo_records(trajectories, retain=0))[f"{trajectories[0].name}:3"]
    assert rec.covered == 3 and rec.raw() == [] and rec.last_observation == trajectories[0].steps[2].observation
    assert trajectories[0].steps[2].observation[:200] in rec.prompt[0].content


def test_random_retain_is_seeded_per_record(trajectories: list[RecordedTrajectory]) -> None:
    first = build_grpo_records(trajectories, retain="random:1-2", seed=7)
    assert first == build_grpo_records(trajectories, retain="random:1-2", seed=7)
    assert {r.retain for r in first} == {1, 2}
    for rec in first:
        assert rec.covered == rec.target_step - rec.retain >= 1 and len(rec.raw()) == rec.retain
    reseeded = build_grpo_records(trajectories, retain="random:1-2", seed=8)
    assert [r.retain for r in reseeded] != [r.retain for r in first] or len(first) < 4


def test_memory_settings_shape_the_prompt(trajectories: list[RecordedTrajectory], tmp_path: Path) -> None:
    template = tmp_path / "mine.txt"
    template.write_text("SUMMARISE THIS:\n{conversation}\nEND")
    settings = MemorySettings(memory_prompt=template, memory_obs_chars=100)
    (rec, *_) = build_grpo_records(trajectories, memory=settings)
    content = rec.prompt[0].content
    assert content.startswith("SUMMARISE THIS:\n") and content.endswith("\nEND")
    assert content == MemoryInput(settings).prompt(MemoryInput(settings).conversation(
        rec.system_prompt, rec.task_prompt, rec.history_steps()[: rec.covered], None))


def test_skips_are_counted(tmp_path: Path) -> None:
    """A trajectory file from the real writer: a target without an action is dropped, short ones skipped."""
    write_trajectory(tmp_path / "a.jsonl", "a", 5, missing_action_at=3)
    write_trajectory(tmp_path / "b.jsonl", "b", 1)
    built = build_grpo(load_recorded(tmp_path), BuildOptions(retain="1"))
    assert [r.record_id for r in built.records] == ["a:2", "a:4"]
    assert (built.no_action, built.nothing_covered, built.short_trajectories) == (1, 1, 1)
    assert [r.target_step for r in build_grpo_records(load_recorded(tmp_path), max_steps=3)] == [2]


@pytest.mark.parametrize(("text", "message"), [("-1", "Bad retain"), ("random:2-1", "Bad retain"),
                                               ("some", "Bad retain")])
def test_bad_retain(text: str, message: str) -> None:
    with pytest.raises(ComemError, match=message):
        parse_retain(text)


def test_bad_options_and_sources(trajectories: list[RecordedTrajectory], tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="min_steps"):
        build_grpo_records(trajectories, min_steps=1)
    with pytest.raises(ComemError, match="does not exist"):
        load_recorded(tmp_path / "nowhere")
    with pytest.raises(ComemError, match="eval_fraction"):
        split_by_task([], 1.0, 0)


def synthetic(steps_per_task: list[int]) -> list[RecordedTrajectory]:
    def step(i: int) -> Step:
        return Step(index=i, thought="t", response="r", observation=f"o{i}",
                    action=ToolCall(name="bash", arguments={"command": f"echo {i}"}))

    return [RecordedTrajectory(name=f"task{k}", system="s", task="q", steps=[step(i) for i in range(n)])
            for k, n in enumerate(steps_per_task)]


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=12),
       fraction=st.floats(min_value=0.0, max_value=0.95), seed=st.integers(0, 10_000),
       retain=st.sampled_from(["0", "1", "random:0-2"]))
def test_split_never_puts_a_task_on_both_sides(steps: list[int], fraction: float, seed: int, retain: str) -> None:
    records = build_grpo_records(synthetic(steps), retain=retain, seed=seed)
    train, held_out = split_by_task(records, fraction, seed)
    assert not {r.task_id for r in train} & {r.task_id for r in held_out}
    assert Counter(r.record_id for r in train + held_out) == Counter(r.record_id for r in records)
    tasks = {r.task_id for r in records}
    if fraction > 0 and len(tasks) >= 2:
        assert train and held_out
    if fraction == 0:
        assert held_out == []
    assert split_by_task(records, fraction, seed) == (train, held_out)  # seeded


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.integers(min_value=2, max_value=6), min_size=2, max_size=12),
       grown=st.lists(st.integers(min_value=2, max_value=6), min_size=0, max_size=8),
       fraction=st.floats(min_value=0.05, max_value=0.95), seed=st.integers(0, 10_000))
def test_a_kept_split_keeps_every_task_on_its_side(steps: list[int], grown: list[int], fraction: float,
                                                   seed: int) -> None:
    records = build_grpo_records(synthetic(steps))
    train, held_out = split_by_task(records, fraction, seed)
    keep = TaskSplit(train=frozenset(r.task_id for r in train), eval=frozenset(r.task_id for r in held_out))
    more = build_grpo_records(synthetic(steps + grown))  # the same tasks first, then new ones
    train2, held_out2 = split_by_task(more, fraction, seed + 1, keep)
    assert {r.task_id for r in held_out2} & keep.train == set() and {r.task_id for r in train2} & keep.eval == set()
    assert {r.record_id for r in held_out} <= {r.record_id for r in held_out2}
    new = {r.task_id for r in more} - keep.train - keep.eval
    if keep.eval:  # otherwise the draw's at-least-one rule applies, as in a first split
        assert len({r.task_id for r in held_out2} & new) == round(len(new) * fraction)


def test_combined_tasks_split_by_their_questions() -> None:
    names = ["a+b", "a+c", "b+c", "a+d", "b+d", "c+d", "d+e", "c+e", "a+e", "b+e"]
    trajectories = synthetic([3] * len(names))
    for trajectory, name in zip(trajectories, names, strict=True):
        trajectory.name = name
    records = build_grpo_records(trajectories, retain=1)
    for seed in range(5):
        train, held_out = split_by_task(records, 0.4, seed)  # two of the five questions held out
        eval_questions = {q for r in held_out for q in r.task_id.split("+")}
        assert len(eval_questions) == 2 and {r.task_id for r in held_out} == {"+".join(sorted(eval_questions))}
        assert not {q for r in train for q in r.task_id.split("+")} & eval_questions  # never seen in training
        assert len(train) == 3  # the three pairs of the other questions, a record each


def test_shuffle_cap_is_seeded(trajectories: list[RecordedTrajectory]) -> None:
    records = build_grpo_records(trajectories)
    capped = shuffle_cap(records, 3, seed=1)
    assert len(capped) == 3 and capped == shuffle_cap(records, 3, seed=1)
    assert sorted(r.record_id for r in shuffle_cap(records, None, 1)) == sorted(r.record_id for r in records)
    assert json.loads(capped[0].reference_action)["name"]
