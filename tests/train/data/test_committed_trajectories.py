"""The trajectories kept in data/ (data/README.md) still load and give the records the README promises: a schema
change that strands them fails here, not in the next memory experiment."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from comem.cli.main import app
from comem.train.data.records import GrpoRecord, read_parquet
from tests.extras import requires

requires("pyarrow", "train")

SET = Path(__file__).parents[3] / "data" / "trajectories" / "qwen2.5-coder-1.5b-full-32"


def test_the_committed_trajectories_give_the_documented_records(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "data", "grpo", str(SET), "--out", str(tmp_path), "--retain", "1",
                                      "--eval-fraction", "0.3", "--seed", "42"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["trajectories"] == 32 and manifest["records"] == {"train": 123, "eval": 49}
    assert len(manifest["tasks"]["train"]) == 22 and len(manifest["tasks"]["eval"]) == 10
    assert not set(manifest["tasks"]["train"]) & set(manifest["tasks"]["eval"])
    held_out = read_parquet(tmp_path / "eval.parquet", GrpoRecord)
    assert {r.task_id for r in held_out} == set(manifest["tasks"]["eval"])
    solved = [json.loads(line) for line in (SET / "full" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["instance_id"] for r in solved if r["resolved"]) == ["inflection-9589049b54",
                                                                         "unitconv-fahrenheit"]
