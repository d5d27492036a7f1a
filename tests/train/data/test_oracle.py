"""Oracle research trajectories: real browser outputs, the run's format, and records whose next action needs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.tasks.browsecomp import combine_questions, load_browsecomp, mini_suite_dir
from comem.train.data.build import build_grpo_records
from comem.train.data.needs import output_only_names
from comem.train.data.oracle import Hop, plan, read_hops, write_oracle
from comem.trajectories.sources import load_recorded
from tests.extras import reason

pytest.importorskip("bm25s", reason=reason("bm25s"))
pytest.importorskip("bs4", reason=reason("bs4"))

HOPS = mini_suite_dir() / "hops.jsonl"


@pytest.fixture(autouse=True)
def index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def pairs() -> list:
    return combine_questions(load_browsecomp(), 2)[:4]


def test_interleaved_courses_read_every_result_after_a_search_for_the_other_question(tmp_path: Path,
                                                                                      pairs: list) -> None:
    ends = write_oracle(pairs, read_hops(HOPS), tmp_path)
    assert all(end.resolved and end.exit_reason == "submitted" for end in ends)  # graded as a run grades it
    trajectories = load_recorded(tmp_path)  # a run directory with one arm, read like any run
    assert [t.name for t in trajectories] == [p.instance_id for p in pairs]
    first = trajectories[0]  # mini-01 (3 hops) + mini-02 (3 hops)
    assert [s.action.name for s in first.steps] == ["search", "search", "fetch", "fetch"] * 3 + ["submit_answer"]
    assert first.steps[-1].action.arguments == {"answer": "Quince | 1903"}
    assert "1. A novel called The Salt Ledger" in first.task and "2. The engineer" in first.task
    for step in first.steps:
        assert step.observation.startswith(f"Execution output of [{step.action.name}]:")
        if step.action.name == "fetch":  # the url came from a search two steps back, not from the last output
            url = step.action.arguments["url"]
            assert url in first.steps[step.index - 2].observation
            assert url not in first.steps[step.index - 1].observation
            assert f"URL: {url}" in step.observation  # the real page was read


def test_sequential_courses_follow_one_question_then_the_next(pairs: list) -> None:
    calls = [call for _, call in plan(pairs[0], read_hops(HOPS), "sequential")]
    queries = [c.arguments.get("q") for c in calls if c.name == "search"]
    assert queries == ["The Salt Ledger novel", "Ines Varrow born", "Kelby Harbour October fair fruit",
                       "Marrowford Swing Bridge engineer", "Oskar Brandell steam tram",
                       "Brandell No. 4 steam tram service"]
    single = load_browsecomp(ids=["mini-03"])[0]
    last = list(plan(single, read_hops(HOPS), "interleaved"))[-1][1]
    assert last.arguments == {"answer": "1934-35"}  # one question: its answer alone


def test_most_records_need_what_only_an_old_output_said(tmp_path: Path, pairs: list) -> None:
    write_oracle(pairs, read_hops(HOPS), tmp_path)
    records = build_grpo_records(load_recorded(tmp_path), retain=1, variant="browsecomp")
    needing = [r for r in records if output_only_names(r)]
    assert len(records) == sum(len(list(plan(p, read_hops(HOPS), "interleaved"))) - 2 for p in pairs)  # targets 2..n-1
    assert len(needing) >= 0.6 * len(records)
    answer = next(r for r in records if r.record_id == f"{pairs[0].instance_id}:12")
    assert json.loads(answer.reference_action)["name"] == "submit_answer"
    assert "Quince" in output_only_names(answer)  # read on a page eight steps before


def test_bad_hops_are_clear_errors(tmp_path: Path, pairs: list) -> None:
    bad = tmp_path / "hops.jsonl"
    bad.write_text('{"task_id": "mini-01", "hops": [{"query": "x"}]}\n')
    with pytest.raises(ComemError, match=r"hops.jsonl:1: not a hops row"):
        read_hops(bad)
    with pytest.raises(ComemError, match="No hops for question"):
        write_oracle(pairs[:1], {}, tmp_path / "out")
    wrong = {"mini-01": [Hop(query="The Salt Ledger novel", url="https://nowhere.example/x")],
             "mini-02": read_hops(HOPS)["mini-02"]}
    with pytest.raises(ComemError, match="every url must be a page of the corpus"):
        write_oracle(pairs[:1], wrong, tmp_path / "out")
