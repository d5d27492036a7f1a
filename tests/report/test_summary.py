"""Per-arm figures of a run directory, on a run whose numbers are known by construction (tests/report/helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.records import MemoryRecord
from comem.eval.results import EpisodeResult
from comem.report.summary import arm_names, summarise
from comem.report.tables import to_markdown
from tests.report.helpers import sample_run, step, write_episode


def test_success_steps_tokens_and_latency(tmp_path: Path) -> None:
    rows = {r.arm: r for r in summarise(sample_run(tmp_path))}
    assert list(rows) == ["full", "kso", "mask"]  # config.yaml order
    full, kso, mask = rows["full"], rows["kso"], rows["mask"]
    assert (full.episodes, full.graded, full.resolved, full.success_rate) == (2, 2, 1, 0.5)
    assert full.success_ci[0] <= 0.5 <= full.success_ci[1] and kso.success_ci == (1.0, 1.0)
    assert (mask.success_rate, mask.success_ci, mask.graded) == (None, None, 0)  # nothing graded: no rate
    assert (full.steps, full.mean_steps) == (5, 2.5)
    assert full.prompt_tokens == 100 + 200 + 100 + 200 + 300 and full.completion_tokens == 50
    assert full.prompt_tokens_per_step == 180 and full.completion_tokens_per_step == 10
    assert full.wall_mean_s == 8.0 and full.step_latency_p50_s == 1.0 and full.step_latency_mean_s == 1.4
    assert kso.memory_wait_s == pytest.approx(0.2) and kso.exit_reasons == {"submitted": 2}


def test_speedups_are_paired_by_task_and_seed_when_possible(tmp_path: Path) -> None:
    rows = {r.arm: r for r in summarise(sample_run(tmp_path))}
    kso, mask, full = rows["kso"], rows["mask"], rows["full"]
    assert kso.speedup_pairs == 2
    assert kso.speedup_wall == pytest.approx(8.0 / 4.0)  # mean wall 8 s vs 4 s
    assert kso.speedup_step == pytest.approx((7.0 / 5) / (3.5 / 5))  # Σ latency / Σ steps
    assert kso.speedup_step_ci[0] <= kso.speedup_step <= kso.speedup_step_ci[1]
    assert full.speedup_wall == 1.0 and full.speedup_wall_ci == (1.0, 1.0)
    assert mask.speedup_pairs == 0 and mask.speedup_wall == pytest.approx(8.0 / 2.0)  # unpaired fallback


def test_memory_statistics_and_retention(tmp_path: Path) -> None:
    rows = {r.arm: r for r in summarise(sample_run(tmp_path))}
    memory = rows["kso"].memory
    assert (memory.updates, memory.failures, memory.superseded) == (1, 1, 1)
    # over the finished calls, the ok one (2 s, 0.5 s waited) and the failed one (1 s); the superseded one never
    # finished. Before docs/metrics.md, successful updates only: latency 2.0, hidden 0.75.
    assert memory.latency_mean_s == 1.5 and memory.hidden_share == pytest.approx(1 - 0.5 / 3)
    assert memory.summary_tokens_mean == 10 and memory.compression_mean == 5.0
    assert rows["full"].memory is None and rows["full"].retention is None
    retention = rows["kso"].retention  # one update over step 0: `ls` and src/pkg/mod0.py, both kept
    assert retention.updates == 1 and retention.score == 1.0
    assert retention.found == {"paths": 1, "urls": 0, "commands": 1, "errors": 0, "numbers": 0, "names": 0}
    assert retention.by_category["paths"] == 1.0 and retention.by_category["errors"] is None


def test_a_keep_calls_arm_still_shows_the_calls_it_summarised(tmp_path: Path) -> None:
    """Under keep_calls the covered steps' calls stay in the prompt: their commands count as retained even when
    the summary drops them; the outputs' paths count only if the memory keeps them. Without it, neither."""
    summary = MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 2), launch_step=2, status="ok",
                           summary="Looked around.", summary_tokens=3, launched_s=1.0, finished_s=2.0)
    steps = [step(0, 1.0, command="pytest -q"), step(1, 1.0, command="grep -rn x"), step(2, 1.0)]
    write_episode(tmp_path, "kso", "a", 0, steps, 3.0, True, [summary])
    write_episode(tmp_path, "kso-calls", "a", 0, steps, 3.0, True, [summary], keep_calls=True)
    rows = {r.arm: r.retention for r in summarise(tmp_path)}
    assert rows["kso"].by_category["commands"] == 0.0 and rows["kso-calls"].by_category["commands"] == 1.0
    assert rows["kso"].by_category["paths"] == rows["kso-calls"].by_category["paths"] == 0.0


def test_an_extracted_view_has_no_summary_tokens_to_count(tmp_path: Path) -> None:
    """A `recent` or `ledger` update is written by no model: no token count and no compression (not 0 and `-x`)."""
    view = MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 1), launch_step=1, status="ok",
                        summary="Last steps (newest last):\n- ls -> src/pkg/mod0.py", covered_tokens_est=50,
                        launched_s=1.0, finished_s=1.0)
    write_episode(tmp_path, "kso", "a", 0, [step(0, 1.0), step(1, 1.0)], 3.0, True, [view])
    memory = summarise(tmp_path)[0].memory
    assert memory.updates == 1 and memory.summary_tokens_mean is None and memory.compression_mean is None
    line = next(x for x in to_markdown(summarise(tmp_path), []).splitlines() if x.startswith("| kso | 1 | 0 | 0 |"))
    assert line.endswith("| - | - |")


def test_an_older_run_directory_without_seeds_or_config(tmp_path: Path) -> None:
    write_episode(tmp_path, "full", "a", 0, [step(0, 1.0)], 1.0, True)
    path = tmp_path / "full" / "results.jsonl"
    line = json.loads(path.read_text())
    del line["seed"]
    path.write_text(json.dumps(line) + "\n")
    assert EpisodeResult.model_validate(line).seed == 0
    (rows,) = summarise(tmp_path)
    assert rows.arm == "full" and rows.steps == 1 and rows.step_latency_mean_s == 1.0
    assert arm_names(tmp_path) == ["full"]
