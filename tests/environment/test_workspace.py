"""Workspace lifecycle and dispatch: copy, base commit, diff, close, and errors as observations."""

from __future__ import annotations

import asyncio
import gc
import shlex
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comem.core.errors import ComemError
from comem.core.records import ToolCall
from comem.environment.tools import FILE_EDITOR_COMMANDS, TOOL_NAMES
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
        "Usage: file_editor(command: view | create | str_replace | rewrite | insert | undo_edit, path: string,"
        in result.output
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
    assert file_editor["properties"]["command"]["enum"] == list(FILE_EDITOR_COMMANDS)
    assert FILE_EDITOR_COMMANDS == ("view", "create", "str_replace", "rewrite", "insert", "undo_edit")


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


DEEP: dict = {}
_level = DEEP
for _ in range(2000):
    _level["a"] = _level = {}

MODEL_MISTAKES = {
    "NUL in a bash command": ("bash", {"command": "echo a\0b"}),
    "NUL in a path": ("file_editor", {"command": "view", "path": "pkg/mod.py\0"}),
    "NUL in a search path": ("search", {"search_term": "add", "path": "pkg\0"}),
    "lone surrogate in file_text": ("file_editor", {"command": "create", "path": "new.py", "file_text": "\ud83d"}),
    "lone surrogate in new_str": ("file_editor", {"command": "str_replace", "path": "pkg/mod.py",
                                                  "old_str": "a + b", "new_str": "a + b  # \ud83d"}),
    "lone surrogate in a command": ("bash", {"command": "echo \ud83d"}),
    "lone surrogate in a path": ("file_editor", {"command": "view", "path": "\udcff"}),
    "integer over 4300 digits": ("file_editor", {"command": "insert", "path": "pkg/mod.py", "insert_line": 10**5000,
                                                 "new_str": "x"}),
    "4300+ digit string as an integer": ("file_editor", {"command": "insert", "path": "pkg/mod.py",
                                                         "insert_line": "9" * 5000, "new_str": "x"}),
    "4300+ digit view_range": ("file_editor", {"command": "view", "path": "pkg/mod.py",
                                               "view_range": f"[1, {'9' * 5000}]"}),
    "deeply nested view_range text": ("file_editor", {"command": "view", "path": "pkg/mod.py",
                                                      "view_range": "[" * 5000 + "]" * 5000}),
    "deeply nested arguments": ("file_editor", {"command": "view", "path": "pkg/mod.py", "view_range": DEEP}),
    "huge arguments": ("file_editor", {"command": "create", "path": "big.py", "file_text": "x" * 20_000_000}),
}


@pytest.mark.parametrize("name, arguments", MODEL_MISTAKES.values(), ids=MODEL_MISTAKES.keys())
def test_inputs_that_used_to_raise_are_one_line_errors(call: Call, name: str, arguments: dict) -> None:
    result = call(name, **arguments)
    error = result.output.split("\n")[1]
    assert result.exit_code == 1 and error.startswith("ERROR: "), result.output[:300]
    assert len(error) < 400 and result.output.encode("utf-8")


json_leaves = (st.none() | st.booleans() | st.integers() | st.integers(0, 3).map(lambda k: 10 ** (4301 + k))
               | st.floats() | st.text() | st.text(st.characters(codec=None, categories=("Cs", "Cc"))))
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)
editor_args = st.fixed_dictionaries(
    {"command": st.sampled_from(["view", "create", "str_replace", "rewrite", "insert", "undo_edit"]) | json_values},
    optional={key: json_values | st.sampled_from(["pkg/mod.py", "pkg", "a + b", "1", "[1, 3]"])
              for key in ("path", "file_text", "old_str", "new_str", "insert_line", "view_range")})
# bash runs only `echo` of the fuzzed text, quoted: what is fuzzed is the argument handling, not the shell
bash_args = st.one_of(st.text().map(lambda text: {"command": "echo " + shlex.quote(text)}),
                      st.dictionaries(st.text(max_size=8), json_values, max_size=3))
search_args = st.dictionaries(st.sampled_from(["search_term", "path", "other"]), json_values | st.text(), max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.tuples(st.just("file_editor"), editor_args), st.tuples(st.just("bash"), bash_args),
                 st.tuples(st.just("search"), search_args)))
def test_no_tool_arguments_make_execute_raise(workspace: Workspace, tool: tuple[str, dict]) -> None:
    name, arguments = tool
    result = asyncio.run(workspace.execute(ToolCall(name=name, arguments=arguments)))
    assert result.output.encode("utf-8") and len(result.output) < 100_000


def test_a_tool_left_out_of_the_tool_set_is_an_unknown_tool(repo: Path) -> None:
    from comem.environment.tools import select_tools

    with Workspace.create(repo) as ws:
        ws.tool_specs = select_tools(ws.tool_specs, "bash")
        result = asyncio.run(ws.execute(ToolCall(name="file_editor", arguments={"command": "view", "path": "."})))
        assert result.exit_code == 1 and "Unknown tool `file_editor`" in result.output
        assert "search(" not in result.output  # the valid tools listed are the set's
        assert asyncio.run(ws.execute(ToolCall(name="bash", arguments={"command": "echo ok"}))).exit_code == 0
    browse = [{"function": {"name": name}} for name in ("search", "fetch", "submit_answer")]
    assert select_tools(browse, "bash") == browse  # another environment's tools are its own
