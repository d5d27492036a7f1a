"""Suite configuration: task sources (local and registered prefixes), selection, seeds, episode order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.eval.config import load_config
from comem.eval.suite import EvalConfig, plan, select_tasks
from comem.tasks.sources import register_source
from comem.tasks.task import load_tasks

ARMS = [{"name": "full"}, {"name": "kso", "k": 2}]


def test_selection_across_sources_ids_limit_and_duplicates(clean_task_sources: None) -> None:
    register_source("one", lambda rest: load_tasks(ids=[rest]))
    config = EvalConfig(tasks=["one:semver-bump-minor", "one:daterange-len"], arms=ARMS)
    assert [t.instance_id for t in select_tasks(config)] == ["semver-bump-minor", "daterange-len"]
    config = EvalConfig(tasks=["bundled"], task_ids=["unitconv-fahrenheit", "daterange-len"], limit=1, arms=ARMS)
    assert [t.instance_id for t in select_tasks(config)] == ["unitconv-fahrenheit"]
    with pytest.raises(ComemError, match="appears in"):
        select_tasks(EvalConfig(tasks=["bundled", "one:semver-bump-minor"], arms=ARMS))
    with pytest.raises(ComemError, match="'nope'"):
        select_tasks(EvalConfig(tasks=["bundled"], task_ids=["nope"], arms=ARMS))


def test_config_validation(tmp_path: Path) -> None:
    assert EvalConfig(tasks="bundled").tasks == ["bundled"] and EvalConfig(tasks=None).tasks == ["bundled"]
    path = tmp_path / "eval.yaml"
    path.write_text("tasks: [bundled]\nseed: [0, 1]\n")
    with pytest.raises(ComemError, match="seed"):  # a typo is an error, not a silently ignored key
        load_config(path, {}, EvalConfig)
    path.write_text("seeds: [1, 1]\n")
    with pytest.raises(ComemError, match="distinct"):
        load_config(path, {}, EvalConfig)
    path.write_text("seeds: [3, 4]\nconcurrency: 4\nepisode_timeout_s: 30\narms: [full]\n")
    config = load_config(path, {"concurrency": 2}, EvalConfig)
    assert (config.seeds, config.concurrency, config.episode_timeout_s) == ([3, 4], 2, 30.0)


def test_comem_run_is_one_source_seed_zero_one_at_a_time() -> None:
    config = load_config(None, {"tasks": None, "limit": 2, "arms": ARMS, "loop": {"max_steps": 3}})
    assert (config.tasks, config.seeds, config.concurrency, config.limit) == (["bundled"], [0], 1, 2)
    assert config.loop.max_steps == 3 and [a.key for a in config.arms] == ["full", "kso"]
    assert config.arms[1].k == 2


def test_plan_keeps_arms_adjacent_and_rotates_the_leading_arm() -> None:
    tasks = load_tasks(ids=["semver-bump-minor", "daterange-len", "unitconv-fahrenheit"])
    config = EvalConfig(arms=ARMS, seeds=[0, 1])
    episodes = plan(config, tasks)
    assert [(e.task_id, e.seed, e.arm.key) for e in episodes[:4]] == [
        ("semver-bump-minor", 0, "full"), ("semver-bump-minor", 0, "kso"),
        ("semver-bump-minor", 1, "kso"), ("semver-bump-minor", 1, "full")]
    leaders = Counter(episodes[i].arm.key for i in range(0, len(episodes), len(ARMS)))
    assert leaders == {"full": 3, "kso": 3}
    shuffled = plan(config.model_copy(update={"order": "shuffle", "order_seed": 7}), tasks)
    again = plan(config.model_copy(update={"order": "shuffle", "order_seed": 7}), tasks)
    assert [e.key for e in shuffled] == [e.key for e in again] != [e.key for e in episodes]
    assert Counter(e.key for e in shuffled) == Counter(e.key for e in episodes)
    pairs = [shuffled[i:i + 2] for i in range(0, len(shuffled), 2)]
    assert all(a.task_id == b.task_id and a.seed == b.seed and {a.arm.key, b.arm.key} == {"full", "kso"}
               for a, b in pairs)
