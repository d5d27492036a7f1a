"""The context shown for a step is the one the agent was sent: rebuilt from the records, compared message by
message with what the scripted agent received, under full, kso (summaries) and mask (placeholders)."""

from __future__ import annotations

from pathlib import Path

from comem.core.records import EpisodeStart, Step
from comem.view.context import rebuild
from comem.view.load import EpisodeData, EpisodeRef, index_run, load_episode


def texts_of(contexts, index: int) -> list[tuple[str, str, str]]:
    return [contexts.texts[i] for first, last in contexts.steps[index].runs for i in range(first, last + 1)]


def messages_of(contexts, index: int) -> list[tuple[str, str]]:
    return [(role, text) for role, text, _ in texts_of(contexts, index)]


def test_every_steps_context_is_what_the_agent_was_sent(real_run) -> None:
    out, agents = real_run
    index = index_run(out)
    for arm, agent in agents.items():
        data = load_episode(index.find(arm, "semver-bump-minor"))
        contexts = rebuild(data)
        assert contexts.notice is None and len(contexts.steps) == len(data.steps) == len(agent.requests)
        for step, sent in zip(data.steps, agent.requests, strict=True):
            assert messages_of(contexts, step.index) == [(m.role, m.content) for m in sent], (arm, step.index)
            assert contexts.steps[step.index].matches is True


def test_summaries_and_masks_are_in_the_rebuilt_contexts(real_run) -> None:
    index = index_run(real_run[0])
    kso = load_episode(index.find("kso", "semver-bump-minor"))
    with_summary = next(s for s in kso.steps if s.summary_id is not None)
    contexts = rebuild(kso)
    role, text, note = texts_of(contexts, with_summary.index)[1]
    summary = next(r for r in kso.memory if r.id == with_summary.summary_id).summary
    assert role == "user" and summary in text and note == "task + summary block"
    mask = rebuild(load_episode(index.find("mask", "semver-bump-minor")))
    last = max(mask.steps)
    assert any("omitted to save context" in t for _, t in messages_of(mask, last))
    assert contexts.payload()["steps"][str(with_summary.index)]["matches"] is True


def test_no_start_line_or_a_missing_summary_record_is_a_notice(real_run) -> None:
    data = load_episode(index_run(real_run[0]).find("kso", "semver-bump-minor"))
    assert rebuild(type(data)(data.ref, None, data.steps, data.memory, data.end, [])).notice.startswith("No episode")
    orphan = rebuild(type(data)(data.ref, data.start, data.steps, [], data.end, []))
    assert "not in the trajectory" in orphan.notice
    assert 0 in orphan.steps and all(orphan.steps.get(s.index) is None for s in data.steps if s.summary_id is not None)


def test_an_unknown_strategy_shows_the_full_history() -> None:
    start = EpisodeStart(instance_id="t", strategy="x", system_prompt="S", task_prompt="T",
                         config={"strategy": {"name": "mystery"}})
    steps = [Step(index=0, thought="", response="r0", action=None, observation="o0")]
    ref = EpisodeRef("x", "t", Path("t.jsonl"), None)
    contexts = rebuild(EpisodeData(ref, start, steps + [Step(index=1, thought="", response="r1", action=None,
                                                           observation="o1")], [], None, []))
    assert messages_of(contexts, 1) == [("system", "S"), ("user", "T"), ("assistant", "r0"), ("user", "o0")]
    assert "mystery" in contexts.notice and contexts.steps[1].matches is None


def test_contexts_are_rebuilt_from_inside_an_event_loop_too(real_run) -> None:
    import asyncio

    data = load_episode(index_run(real_run[0]).find("mask", "semver-bump-minor"))

    async def inside() -> int:
        return len(rebuild(data).steps)

    assert asyncio.run(inside()) == len(data.steps)


def test_keep_calls_and_ledger_arms_are_rebuilt_as_sent(tmp_path: Path) -> None:
    """A `keep_calls` arm's memory closes the last covered output, and a ledger arm's ledger closes the task
    message: both rebuilt message by message as the agent was sent them."""
    from tests.view.helpers import TASK, scripted_run

    arms = ({"name": "kso", "k": 2, "label": "kso-calls", "keep_calls": True},
            {"name": "kso", "k": 2, "label": "kso-ledger", "memory_view": "ledger"})
    agents = scripted_run(tmp_path, arms, grade=False)
    index = index_run(tmp_path)
    for arm, agent in agents.items():
        data = load_episode(index.find(arm, TASK))
        contexts = rebuild(data)
        assert contexts.notice is None and any(s.summary_id is not None for s in data.steps)
        for step, sent in zip(data.steps, agent.requests, strict=True):
            assert messages_of(contexts, step.index) == [(m.role, m.content) for m in sent], (arm, step.index)
            assert contexts.steps[step.index].matches is True
    calls = load_episode(index.find("kso-calls", TASK))
    step = next(s for s in calls.steps if s.summary_id is not None)
    notes = [note for _, _, note in texts_of(rebuild(calls), step.index)]
    assert notes[2 * step.raw_from + 1] == "output + summary block" and notes[1] == ""
