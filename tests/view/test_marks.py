"""Kept and lost identifiers are the report's: the lost ones are exactly what `score_update` counts missing."""

from __future__ import annotations

from comem.report.retention import score_update
from comem.view.load import index_run, load_episode
from comem.view.marks import obs_chars, summary_marks
from tests.view.helpers import TASK


def test_marks_agree_with_the_reports_retention(real_run) -> None:
    data = load_episode(index_run(real_run[0]).find("kso", TASK))
    chars = obs_chars(data.strategy)
    scored = 0
    for record in (r for r in data.memory if r.status == "ok"):
        marks = summary_marks(record, data.steps, chars)
        report = score_update(record, data.steps, chars)
        lost = {(m.category, m.identifier) for m in marks if not m.kept}
        assert lost == {(c, i) for c, ids in report.missing.items() for i in ids}
        assert sum(m.kept for m in marks) == sum(report.kept.values())
        scored += 1
    assert scored >= 1
    marks = summary_marks(next(r for r in data.memory if r.status == "ok" and r.covers[1] >= 2), data.steps, chars)
    assert ("paths", "semverlite/version.py", True) in {(m.category, m.identifier, m.kept) for m in marks}
    assert any(m.category == "commands" and not m.kept for m in marks)  # `grep` is not in the summary
    assert obs_chars({}) == 4000 and obs_chars({"memory_obs_chars": 50}) == 50
