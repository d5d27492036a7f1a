"""The pinned prompts of a repository task: the issue, the files, example calls, how to run the tests."""

from __future__ import annotations

import json

from comem.environment.tools import build_tool_specs, select_tools
from comem.tasks.prompts import example_calls, pinned_prompts, repo_files
from comem.tasks.task import load_tasks


def test_examples_use_names_from_the_issue_and_real_files() -> None:
    statement = "`Version.bump_minor()` is wrong; see the ```python\nVersion.parse('1.0.0')\n``` example."
    files = ["README.md", "pkg/__init__.py", "pkg/version.py", "tests/test_version.py"]
    calls = [json.loads(line) for line in example_calls(statement, files).splitlines()]
    assert calls == [
        {"name": "search", "arguments": {"search_term": "bump_minor"}},
        {"name": "file_editor", "arguments": {"command": "view", "path": "pkg/version.py"}},
    ]


def test_pinned_prompts_list_the_repository_and_keep_the_issue() -> None:
    task = load_tasks(ids=["semver-bump-minor"])[0]
    pinned = pinned_prompts(task, build_tool_specs(60), task.repo_dir)
    assert task.problem_statement.strip() in pinned.task
    assert all(f in pinned.task for f in repo_files(task.repo_dir))
    assert '"search_term": "bump_minor"' in pinned.system and "file_editor(" in pinned.system
    assert "{" + "tools}" not in pinned.system and "{" + "examples}" not in pinned.system


def test_the_task_prompt_says_how_to_run_the_tests() -> None:
    task = load_tasks(ids=["semver-bump-minor"])[0].model_copy(
        update={"test_command": "python -m pytest -o pythonpath=src"})  # a src-layout package
    pinned = pinned_prompts(task, build_tool_specs(60), task.repo_dir)
    assert "Run the repository's tests with: `python -m pytest -o pythonpath=src`" in pinned.task
    assert "{" + "tests}" not in pinned.task


def test_the_prompt_teaches_the_workflow_without_a_worked_example() -> None:
    """A worked example (fixing `Cart.total()` in another repository) was copied verbatim by both bundled models:
    its old_str sent to the task's files, its reproduction command run in the task's repository. It was removed."""
    task = load_tasks(ids=["semver-bump-minor"])[0]
    default = pinned_prompts(task, build_tool_specs(60), task.repo_dir).system
    assert "1. Reproduce" in default and "6. Submit" in default and "hidden" in default
    assert "Cart" not in default


def test_the_bash_tool_set_gets_its_own_workflow_and_examples() -> None:
    task = load_tasks(ids=["semver-bump-minor"])[0]
    specs = select_tools(build_tool_specs(60), "bash")
    assert [s["function"]["name"] for s in specs] == ["bash", "submit"]
    system = pinned_prompts(task, specs, task.repo_dir).system
    assert "file_editor" not in system and '"search_term"' not in system
    assert "grep -rn 'bump_minor' --include=*.py ." in system and "sed -i 's/OLD/NEW/' FILE" in system
