"""The agent-free needed-names reward (train/reward/needed_names.py) on real research records, and a GRPO run on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.core.errors import ComemError
from comem.train.reward.needed_names import NEEDED_COLUMNS, NeededNamesReward
from tests.extras import reason, requires


@pytest.fixture(scope="module")
def research(tmp_path_factory: pytest.TempPathFactory) -> list:
    """The records of one oracle course over two mini questions (real browser outputs over the corpus)."""
    pytest.importorskip("bm25s", reason=reason("bm25s"))
    from comem.tasks.browsecomp import combine_questions, load_browsecomp, mini_suite_dir
    from comem.train.data.build import build_grpo_records
    from comem.train.data.oracle import read_hops, write_oracle
    from comem.trajectories.sources import load_recorded

    root = tmp_path_factory.mktemp("oracle")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        write_oracle(combine_questions(load_browsecomp(ids=["mini-03", "mini-07"]), 2),
                     read_hops(mini_suite_dir() / "hops.jsonl"), root / "run")
    return build_grpo_records(load_recorded(root / "run"), retain=1, variant="browsecomp")


def columns(records: list) -> dict[str, list]:
    return {c: [getattr(r, c) for r in records] for c in NEEDED_COLUMNS}


def test_a_summary_scores_the_share_of_the_needed_names_it_keeps(research: list) -> None:
    from comem.train.data.needs import output_only_names

    fetch = next(r for r in research if json.loads(r.reference_action)["name"] == "fetch")
    url = json.loads(fetch.reference_action)["arguments"]["url"]
    assert output_only_names(fetch) == [url.removeprefix("https://")]  # found by the search two steps back only
    reward = NeededNamesReward()
    assert reward([f"Found {url} for question 1.", "The agent searched.", [{"role": "assistant", "content": url}]],
                  **columns([fetch] * 3)) == [10.0, 0.0, 10.0]  # conversational completions too
    task_words = fetch.model_copy(update={"reference_action": json.dumps({"name": "search", "arguments": {
        "q": "football ground named after glassmaker"}})})  # every word of it stands in the task
    assert output_only_names(task_words) == []
    assert reward([url], **columns([task_words])) == [0.0]  # nothing to keep: no summary is ranked above another


def test_missing_or_broken_columns_are_clear_errors(research: list) -> None:
    reward, cols = NeededNamesReward(), columns(research[:1])
    with pytest.raises(ComemError, match="needs dataset columns history"):
        reward(["x"], **{k: v for k, v in cols.items() if k != "history"})
    with pytest.raises(ComemError, match="malformed history"):
        reward(["x"], **{**cols, "history": ["not json"]})


def test_grpo_on_the_needed_names_reward_opens_no_agent(tmp_path: Path, research: list,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    requires("trl", "train")
    from comem.train.data.records import GrpoRecord, write_parquet
    from tests.train.trainers.helpers import cli_app, metrics, tiny_model

    write_parquet(tmp_path / "data" / "train.parquet", research[:4], GrpoRecord)
    fast = ["max_steps=2", "prompts_per_step=2", "num_generations=2", "batch_size=4", "per_device_batch_size=2",
            "max_completion_length=8", "learning_rate=1e-3", "reward=needed_names"]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli_app(), [
        "grpo", "--data", str(tmp_path / "data"), "--model", str(tiny_model(tmp_path_factory)), "--out", str(out),
        "--preset", "cpu", "--agent-url", "http://127.0.0.1:9/v1",  # unreachable: it must not be asked
        *(a for item in fast for a in ("--set", item))])
    assert result.exit_code == 0, result.output
    assert "reward needed_names (no agent)" in " ".join(result.output.split())
    rows = [r for r in metrics(out) if "reward" in r]
    assert [r["step"] for r in rows] == [1, 2] and all(0.0 <= r["reward"] <= 10.0 for r in rows)
    manifest = json.loads((out / "train.json").read_text())
    assert manifest["agent"] is None and manifest["settings"]["reward"] == "needed_names"
