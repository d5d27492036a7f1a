"""Workspace lifecycle and dispatch: copy, base commit, diff, close, and errors as observations."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.core.records import ToolCall
from comem.environment.tools import TOOL_NAMES
from comem.environment.workspace import Workspace
from tests.environment.helpers import Call


def test_copy_leaves_out_caches_and_source_git(workspace: Workspace, repo: Path) -> None:
    assert workspace.root != repo and (workspace.root / "pkg" / "mod.py").is_file()
    assert not (workspace.root / "pkg" / "__pycache__").exists()
    assert not (workspace.root / ".pytest_cache").exists()
    assert (workspace.root / ".git" / "HEAD").read_text() != (repo / ".git" / "HEAD").read_text()


def test_missing_repo_is_a_comem_error(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist"):
        Workspace.create(tmp_path / "nope")


def test_diff_is_empty_then_shows_edits_and_new_files(call: Call, workspace: Workspace) -> None:
    assert workspace.diff() == ""
    call("file_editor", command="str_replace", path="pkg/mod.py", old_str="a - b", new_str="a - b - 0")
    call("bash", command="echo 'print(1)' > new_file.py && rm README.md && python -m pytest -q --co >/dev/null; true")
    diff = workspace.diff()
    assert "-    return a - b\n+    return a - b - 0" in diff
    assert "diff --git a/new_file.py b/new_file.py\nnew file mode" in diff
    assert "deleted file mode" in diff
    assert ".pytest_cache" not in diff and "__pycache__" not in diff


def test_a_same_size_edit_in_the_base_commits_second_is_seen(tmp_path: Path) -> None:
    """Racy git: git compares whole seconds, so a same-size edit made in the second the file was written and
    indexed matches the index's stat data; git re-reads such entries only if the index file is not older than them."""
    time.sleep(1 - time.time() % 1)  # start a fresh second: write, index and edit inside it
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with Workspace.create(repo) as ws:
        path = ws.root / "calc.py"
        path.write_text(path.read_text().replace("a - b", "a + b"))
        time.sleep(1.05)  # diff in a later second
        assert "+    return a + b" in ws.diff()


def test_diff_is_against_the_base_even_after_agent_commits(call: Call, workspace: Workspace) -> None:
    call("bash", command="echo x > committed.txt && git add -A && git commit -qm agent")
    assert "+x" in workspace.diff()
    assert call("bash", command="git status --porcelain").output.endswith("(no output)")  # index untouched


def test_close_removes_the_directory_and_is_idempotent(repo: Path) -> None:
    ws = Workspace.create(repo)
    (ws.root / "ro").mkdir()
    (ws.root / "ro" / "f").write_text("x")
    (ws.root / "ro").chmod(0o500)
    ws.close()
    assert not ws.root.exists() and not ws.root.parent.exists()
    ws.close()


def test_a_forgotten_workspace_is_removed_when_collected(repo: Path) -> None:
    ws = Workspace.create(repo)
    root = ws.root
    del ws
    gc.collect()
    assert not root.exists()


def test_context_manager_closes(repo: Path) -> None:
    with Workspace.create(repo) as ws:
        root = ws.root
    assert not root.exists()


def test_unknown_tool_lists_valid_tools(call: Call) -> None:
    result = call("edit_file", path="x")
    assert result.exit_code == 1 and not result.done
    assert "Unknown tool `edit_file`" in result.output
    for name in TOOL_NAMES:
        assert f"  {name}(" in result.output


def test_missing_required_argument_explains_usage(call: Call) -> None:
    result = call("bash")
    assert result.output == (
        "Execution output of [bash]:\nERROR: Missing required argument `command`.\nUsage: bash(command: string)"
    )
    result = call("file_editor", command="view", path=["pkg", "mod.py"])
    assert "ERROR: Argument `path` must be a string, got list." in result.output
    assert (
        "Usage: file_editor(command: view | create | str_replace | insert | undo_edit, path: string," in result.output
    )


def test_submit_finishes_and_ignores_extra_arguments(call: Call) -> None:
    result = call("submit", result="all done")
    assert result.done and result.output == "<<< Finished >>>"


def test_elapsed_time_is_recorded(workspace: Workspace) -> None:
    result = asyncio.run(workspace.execute(ToolCall(name="bash", arguments={"command": "sleep 0.3"})))
    assert result.elapsed_s >= 0.3  # the command's whole run: a sleep is a floor, never early


def test_tool_specs_are_openai_function_schemas(workspace: Workspace) -> None:
    assert [spec["function"]["name"] for spec in workspace.tool_specs] == list(TOOL_NAMES)
    for spec in workspace.tool_specs:
        assert spec["type"] == "function"
        params = spec["function"]["parameters"]
        assert params["type"] == "object"
        assert set(params["required"]) <= set(params["properties"])
        assert spec["function"]["description"]
    file_editor = workspace.tool_specs[1]["function"]["parameters"]
    assert file_editor["required"] == ["command", "path"]
    assert file_editor["properties"]["command"]["enum"] == ["view", "create", "str_replace", "insert", "undo_edit"]


def test_a_deleted_workspace_diffs_empty_and_is_graded_unresolved(tmp_path: Path) -> None:
    import shutil

    from comem.agent.loop import Outcome
    from comem.tasks.harness import LocalRepoHarness
    from comem.tasks.task import load_tasks

    task = load_tasks()[0]
    harness = LocalRepoHarness()
    env = harness.open(task, bash_timeout_s=5)
    try:
        shutil.rmtree(env.root)
        assert env.diff() == ""
        verdict = asyncio.run(harness.grade(task, env, Outcome("submitted")))
        assert verdict.resolved is False and "deleted" in verdict.error
    finally:
        env.close()
