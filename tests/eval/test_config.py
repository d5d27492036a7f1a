"""The one run configuration: `comem run` files and `comem eval` files are the same model; run directories written
before arms became typed (`{name, label, options: {...}}`) still resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from comem.context.kso import KsoConfig
from comem.core.errors import ComemError
from comem.eval.config import EvalConfig, load_config
from comem.eval.engine import write_config


def test_a_run_file_and_an_eval_file_are_one_model(tmp_path: Path) -> None:
    run = tmp_path / "run.yaml"
    run.write_text("tasks: bundled\nlimit: 2\narms:\n  - {name: full}\n  - {name: kso, k: 4, memory_max_tokens: 128}\n"
                   "agent: {model: qwen2.5-coder-0.5b}\nloop: {max_steps: 20, temperature: 0.7}\n")
    config = load_config(run, {})
    assert (config.tasks, config.seeds, config.concurrency, config.limit) == (["bundled"], [0], 1, 2)
    assert config.arms[1] == KsoConfig(k=4, memory_max_tokens=128)
    run.write_text(run.read_text() + "seeds: [0, 1]\nconcurrency: 2\n")
    assert load_config(run, {}).seeds == [0, 1]
    assert EvalConfig().model_dump() == load_config(None, {}).model_dump()


def test_a_directory_written_with_untyped_arm_options_resumes(tmp_path: Path) -> None:
    old = {"arms": [{"name": "full", "label": None, "options": {}},
                    {"name": "kso", "label": None, "options": {"k": 4, "memory_max_tokens": 128}}],
           "loop": {"max_steps": 20}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    write_config(tmp_path, load_config(None, {}))  # the old default run is today's default run
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert [a["name"] for a in saved["arms"]] == ["full", "kso"] and saved["arms"][1]["k"] == 4
    with pytest.raises(ComemError, match="'kso'"):
        write_config(tmp_path, load_config(None, {"arms": [{"name": "kso", "k": 2}]}))
