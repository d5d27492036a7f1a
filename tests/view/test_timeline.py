"""The timeline has one bar per recorded agent call, tool run, exposed wait and memory call, each where its
record puts it, on one time axis."""

from __future__ import annotations

import pytest

from comem.core.records import MemoryRecord, Step
from comem.view import timeline
from comem.view.load import index_run, load_episode
from tests.view.helpers import TASK


def timed(steps: list[Step]) -> list[timeline.TimedStep]:
    return [timeline.TimedStep(s.index, s, s.action is not None) for s in steps]


def test_bars_follow_the_records_of_a_real_episode(real_run) -> None:
    data = load_episode(index_run(real_run[0]).find("kso", TASK))
    installs = {r.id: r.installed_step for r in data.memory if r.installed_step is not None}
    bars = timeline.bars(timed(data.steps), data.memory, installs)
    kinds = {k: [b for b in bars if b.kind == k] for k in timeline.LANE_OF}
    assert len(kinds["agent"]) == len(data.steps) and len(kinds["memory"]) == len(data.memory)
    assert len(kinds["tool"]) == sum(s.action is not None for s in data.steps)
    assert len(kinds["wait"]) == sum(s.memory_wait_s > 0 for s in data.steps) and len(kinds["install"]) == len(installs)
    for bar, step in zip(kinds["agent"], data.steps, strict=True):
        assert (bar.start, bar.end) == pytest.approx(step.call_span) and bar.ttft_s == step.agent_ttft_s
        assert bar.end == pytest.approx(step.finished_s - step.tool_s)
    for bar, record in zip(kinds["memory"], data.memory, strict=True):
        assert (bar.start, bar.end, bar.record) == (record.launched_s, record.finished_s, record.id)
    for bar in kinds["install"]:
        step = data.steps[installs[bar.record]]
        assert bar.start == pytest.approx(step.started_s + step.memory_wait_s)


def test_drawn_positions_share_one_axis_and_an_open_call_runs_to_its_end() -> None:
    steps = [Step(index=i, thought="", response="", action=None, observation="", agent_ttft_s=0.5,
                  agent_total_s=1.0, tool_s=0.0, started_s=2.0 * i, finished_s=2.0 * i + 1.0) for i in range(3)]
    pending = MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 1), launch_step=1, launched_s=1.5)
    bars = timeline.bars(timed(steps), [pending])
    assert [b.kind for b in bars] == ["agent"] * 3 + ["memory"] and bars[-1].open and bars[-1].end == 5.0
    svg = timeline.draw(bars, 3)
    drawn = [s for s in svg.shapes if "bar" in str(s.attrs.get("class", ""))]
    scale = (svg.width - timeline.LEFT - 20) / 5.0
    for shape, bar in zip(drawn, bars, strict=True):
        assert shape.attrs["x"] == pytest.approx(timeline.LEFT + bar.start * scale, abs=0.01)
        assert shape.attrs["width"] == pytest.approx((bar.end - bar.start) * scale, abs=0.01)
    assert "open" in drawn[-1].attrs["class"]
