"""Every AIConfigurator point of reference_points.yaml (dense and MoE) is within 15% of the roofline's time, with one
set of constants for all of them."""

from __future__ import annotations

import pytest

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

from comem.bench.sim.presets import HARDWARE, MODELS
from comem.bench.sim.reference import GOAL, compare, load


def test_every_reference_point_is_within_the_goal() -> None:
    rows = compare()
    assert len(rows) == len(load().points) >= 39
    worst = {f"{c.point.group} {c.point.metric} b{c.point.batch} {c.point.prompt}/{c.point.cached}": round(c.error, 3)
             for c in rows if abs(c.error) > GOAL}
    assert not worst, worst


def test_points_cover_dense_and_moe_and_name_presets() -> None:
    refs = load()
    assert {MODELS[g.model].moe for g in refs.groups.values()} == {True, False}
    assert all(g.model in MODELS and g.hardware in HARDWARE for g in refs.groups.values())
    assert {p.metric for p in refs.points} == {"ttft", "tpot", "step"}


def test_moe_batch_one_decode_is_the_reference_not_the_old_roofline() -> None:
    """The case that was 4x too fast: Qwen3-Coder-480B FP8 on 8x H200, batch 1, 12.4-13.3 ms per token."""
    tpot = {c.point.prompt: c.predicted_s for c in compare()
            if c.point.group.startswith("qwen3-coder") and c.point.metric == "tpot" and c.point.batch == 1}
    assert tpot[8192] == pytest.approx(0.0124, rel=GOAL) and tpot[65536] == pytest.approx(0.0133, rel=GOAL)
