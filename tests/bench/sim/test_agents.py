"""Agents build prompts as the real strategies do, on the strategies' own schedules (docs/method.md §4-5)."""

from __future__ import annotations

import pytest

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

import simpy

from comem.bench.sim.agents import Agent, Arm, _Summary, segment_keys
from comem.bench.sim.engine import Engine, Request
from comem.bench.sim.simulate import run_arm
from comem.core.errors import ComemError
from tests.bench.sim.helpers import SETTINGS, shape, tiny_config, tiny_spec

TRAJ = shape("t", 40, [(5 + t, 10 + 3 * t, 0.5) for t in range(12)])


def agent(arm: str, settings=SETTINGS) -> Agent:
    env = simpy.Environment()
    engine = Engine(env, tiny_spec())
    return Agent(env, Arm.parse(arm, 2), 7, TRAJ, engine, engine, settings, 1)


@pytest.mark.parametrize(("text", "name", "kind", "k"), [
    ("full", "full", "full", None), ("full-nocache", "full-nocache", "full-nocache", None),
    ("mask", "mask", "mask", None),
    ("kso", "kso-k2", "kso", 2), ("kso-k4", "kso-k4", "kso", 4), ("sync-k1", "sync-k1", "sync", 1),
])
def test_arm_names(text: str, name: str, kind: str, k: int | None) -> None:
    assert Arm.parse(text, 2) == Arm(name, kind, k)  # type: ignore[arg-type]


def test_kso_late_policy_suffix() -> None:
    assert Arm.parse("kso-k2-deadline", 2) == Arm("kso-k2-deadline", "kso", 2, "deadline")
    assert Arm.parse("kso-wait", 3) == Arm("kso-k3-wait", "kso", 3, "wait")


@pytest.mark.parametrize("text", ["kso-k0", "mask-k2", "memagent", "full-k2", "sync-k2-deadline", "kso-k2-stale",
                                  "mask-nocache", "kso-calls"])
def test_bad_arm_names(text: str) -> None:
    with pytest.raises(ComemError):
        Arm.parse(text, 2)


def test_full_prompt_appends_steps_after_a_shared_head() -> None:
    a = agent("full")
    keys = segment_keys(a.prompt(3, None))
    assert keys == ["sys", ("task", 7), ("out", 7, 0), ("obs", 7, 0), ("out", 7, 1), ("obs", 7, 1),
                    ("out", 7, 2), ("obs", 7, 2)]
    assert sum(t for _, t in a.prompt(3, None)) == 40 + sum(5 + t + 10 + 3 * t for t in range(3))


def test_mask_replaces_old_observations() -> None:
    a = agent("mask")
    keys = segment_keys(a.prompt(6, None))
    masked = [k[2] for k in keys if isinstance(k, tuple) and k[0] == "mask"]
    assert masked == [0, 1, 2]  # keep_last = 3 of 6
    assert ("obs", 7, 3) in keys


def test_summary_sits_right_after_the_head() -> None:
    a = agent("kso-k2")
    summary = _Summary(id=4, covers=5, request=Request(segments=[], output_tokens=1, output_key="x"), timing=None)  # type: ignore[arg-type]
    segments = a.prompt(7, summary)
    assert segment_keys(segments)[:4] == ["sys", ("task", 7), ("sum", 7, 4), ("out", 7, 5)]
    assert segments[2][1] == SETTINGS.summary_tokens + SETTINGS.summary_wrapper_tokens


def test_memory_prompt_from_scratch_and_incremental() -> None:
    a = agent("kso-k2")
    keys = segment_keys(a.memory_prompt(0, 3, None))
    assert keys == ["mtpl", "msys", ("mtask", 7), ("mstep", 7, 0), ("mstep", 7, 1), ("mstep", 7, 2), "mtail"]
    prev = _Summary(id=1, covers=3, request=None, timing=None)  # type: ignore[arg-type]
    keys = segment_keys(a.memory_prompt(3, 5, prev))
    assert keys == ["mtpl", "msys", ("mtask", 7), ("mprev", 7, 1), ("mstep", 7, 3), ("mstep", 7, 4), "mtail"]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_kso_schedule_matches_method(k: int) -> None:
    run = run_arm(tiny_config([f"kso-k{k}"]), Arm.parse(f"kso-k{k}", 2), [TRAJ])
    launches = [n for n in range(1, len(TRAJ.steps)) if (n + 1) % k == 0]
    assert [m.launch_step for m in run.memory] == launches
    for step in run.steps:
        earlier = [n for n in launches if n < step.step]
        if not earlier:
            assert step.summary_id is None and step.raw_from == 0
            continue
        assert step.raw_from == earlier[-1] and 1 <= step.step - step.raw_from <= k
        raw = sum(s.output_tokens + s.observation_tokens for s in TRAJ.steps[step.raw_from:step.step])
        summary = SETTINGS.summary_tokens + SETTINGS.summary_wrapper_tokens
        assert step.prompt_tokens == TRAJ.head_tokens + summary + raw
    statuses = [m.status for m in run.memory]
    assert set(statuses[:-1]) <= {"ok"} and statuses[-1] in ("ok", "superseded")


def test_sync_waits_and_kso_hides_the_memory_time() -> None:
    sync = run_arm(tiny_config(["sync-k2"]), Arm.parse("sync-k2", 2), [TRAJ])
    kso = run_arm(tiny_config(["kso-k2"]), Arm.parse("kso-k2", 2), [TRAJ])
    waits = [s.memory_wait_s for s in sync.steps]
    assert all(w > 0 for s, w in zip(sync.steps, waits, strict=True) if s.step in {m.launch_step for m in sync.memory})
    assert [m.covers for m in sync.memory] == [(0, n - 1) for n in (3, 5, 7, 9, 11)]  # retain 1, k 2
    assert sum(s.memory_wait_s for s in kso.steps) < sum(waits)  # tool time (0.5 s) hides most of it


def test_deadline_gives_the_memory_k_steps() -> None:
    wait = run_arm(tiny_config(["kso-k2"]), Arm.parse("kso-k2", 2), [TRAJ])
    deadline = run_arm(tiny_config(["kso-k2-deadline"]), Arm.parse("kso-k2-deadline", 2), [TRAJ])
    assert [m.launch_step for m in deadline.memory] == [m.launch_step for m in wait.memory]
    assert sum(s.memory_wait_s for s in deadline.steps) <= sum(s.memory_wait_s for s in wait.steps)
    for step in deadline.steps:
        assert step.summary_id is None or 1 <= step.step - step.raw_from <= 3  # at most 2k - 1 raw steps
        if step.summary_id is not None:  # a summary covers [0, raw_from): nothing is lost or seen twice
            assert deadline.memory[step.summary_id].covers == (0, step.raw_from)


def test_incremental_memory_input_is_shorter() -> None:
    inc = tiny_config(["kso-k2"], settings=SETTINGS.model_copy(update={"memory_input": "incremental"}))
    full = run_arm(tiny_config(["kso-k2"]), Arm.parse("kso-k2", 2), [TRAJ]).memory
    incremental = run_arm(inc, Arm.parse("kso-k2", 2), [TRAJ]).memory
    assert [m.covers[1] for m in incremental] == [m.covers[1] for m in full]
    assert incremental[-1].input_tokens < full[-1].input_tokens
    assert incremental[0].covers == (0, 1) and incremental[1].covers == (1, 3)
