"""Task sources: local suites, registered `prefix:` loaders, and prefix modules that register themselves."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import comem.tasks
from comem.core.errors import ComemError
from comem.tasks.sources import load_source, register_source
from comem.tasks.task import bundled_tasks_dir, load_tasks


def test_local_sources_bundled_and_task_dir(tmp_path: Path) -> None:
    bundled = load_source("bundled")
    assert [t.instance_id for t in bundled] == [t.instance_id for t in load_tasks()]
    shutil.copytree(bundled_tasks_dir() / "semver-bump-minor", tmp_path / "semver-bump-minor")
    assert [t.instance_id for t in load_source(str(tmp_path))] == ["semver-bump-minor"]


def test_registered_prefix_gets_the_rest_of_the_string(clean_task_sources: None) -> None:
    seen: list[str] = []
    tasks = load_tasks(ids=["semver-bump-minor"])

    def loader(rest: str) -> list:
        seen.append(rest)
        return tasks

    register_source("mine", loader)
    assert load_source("mine:/data/x.jsonl|mini") == tasks and seen == ["/data/x.jsonl|mini"]


def test_a_prefix_module_under_comem_tasks_registers_itself_when_first_used(
        clean_task_sources: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo_source.py").write_text(
        "from comem.tasks.sources import register_source\n"
        "from comem.tasks.task import load_tasks\n"
        "register_source('demo-source', lambda rest: load_tasks(ids=[rest]))\n")
    monkeypatch.setattr(comem.tasks, "__path__", [*comem.tasks.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "comem.tasks.demo_source", raising=False)
    assert [t.instance_id for t in load_source("demo-source:unitconv-fahrenheit")] == ["unitconv-fahrenheit"]


def test_unknown_prefix_and_empty_source_are_clear_errors(clean_task_sources: None) -> None:
    with pytest.raises(ComemError, match="Unknown task source prefix 'nosuch'"):
        load_source("nosuch:whatever")
    register_source("empty", lambda rest: [])
    with pytest.raises(ComemError, match="holds no tasks"):
        load_source("empty:x")
