"""Results files: whole-line appends, torn tails, first-wins dedupe, one writer per directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.core.jsonlog import RunLock
from comem.eval.results import EpisodeResult, ResultsFile, read_results, trajectory_path


def result(task: str, seed: int = 0, steps: int = 3) -> EpisodeResult:
    return EpisodeResult(instance_id=task, strategy="full", exit_reason="submitted", steps=steps, wall_s=1.0,
                         agent_s=0.5, tool_s=0.1, memory_wait_s=0.0, max_prompt_tokens=10, memory_updates=0, seed=seed)


def test_append_and_read_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "arm" / "results.jsonl"
    out = ResultsFile(path)
    for r in (result("a"), result("a", seed=1), result("b")):
        out.append(r)
    assert [r.key for r in read_results(path)] == [("a", 0), ("a", 1), ("b", 0)]
    assert read_results(path)[1] == result("a", seed=1)


def test_reader_skips_torn_and_malformed_lines_and_keeps_the_first_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    lines = [result("a", steps=1).model_dump_json(), "not json", '{"instance_id": "x"}',
             result("a", steps=9).model_dump_json(), result("b").model_dump_json()]
    path.write_text("\n".join(lines) + "\n" + result("c").model_dump_json()[:40])
    assert [(r.instance_id, r.steps) for r in read_results(path)] == [("a", 1), ("b", 3)]


def test_writer_cuts_a_torn_tail_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(result("a").model_dump_json() + "\n" + result("b").model_dump_json()[:25])
    ResultsFile(path).append(result("c"))
    lines = path.read_text().splitlines()
    assert [json.loads(line)["instance_id"] for line in lines] == ["a", "c"]  # every line whole


def test_lines_without_a_seed_are_seed_zero(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    old = result("a").model_dump()
    del old["seed"]
    path.write_text(json.dumps(old) + "\n")
    assert read_results(path)[0].key == ("a", 0)


def test_trajectory_names_keep_the_run_layout_for_seed_zero(tmp_path: Path) -> None:
    assert trajectory_path(tmp_path, "t-1", 0) == tmp_path / "trajectories" / "t-1.jsonl"
    assert trajectory_path(tmp_path, "t-1", 3) == tmp_path / "trajectories" / "t-1.seed3.jsonl"


def test_one_writer_per_run_directory(tmp_path: Path) -> None:
    with RunLock(tmp_path), pytest.raises(ComemError, match="Another"), RunLock(tmp_path):
        pass
    with RunLock(tmp_path):  # released on exit
        pass


def test_a_complete_line_without_its_newline_is_not_a_result_yet(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(result("a").model_dump_json() + "\n" + result("b").model_dump_json())  # write cut before "\n"
    assert [r.instance_id for r in read_results(path)] == ["a"]
    ResultsFile(path).append(result("b", steps=5))
    assert [(r.instance_id, r.steps) for r in read_results(path)] == [("a", 3), ("b", 5)]
