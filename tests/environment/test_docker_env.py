"""The Docker environment. Without an engine: the fast, clear connection errors, and the three pieces that run in
the container (the tool runner, the bash wrapper, the git snapshot) run here for real with the host's Python,
bash and git. With an engine (else skipped): a real container, tool for tool against a local workspace."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.core.records import ToolCall, ToolResult
from comem.environment.bash import TIMEOUT_EXIT_CODE
from comem.environment.docker_env import (
    BASH_WRAPPER,
    GIT_SNAPSHOT,
    LABEL,
    DockerEnvironment,
    DockerSettings,
    connect,
    tool_bundle,
)
from comem.environment.file_editor import FileEditor
from comem.environment.workspace import Workspace
from tests.extras import needs

from .docker_helpers import IMAGE, REPO_FILES, SETUP_CHANGE, mini_image, require_engine, write_repo

ACTIVATE = "export COMEM_ACTIVATED=testbed"

# ---------------------------------------------------------------------------------------------- no engine needed


@needs("docker")
def test_no_engine_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="No Docker engine is reachable at unix://") as caught:
        connect(f"unix://{tmp_path}/docker.sock")
    assert "docker version" in caught.value.fix and "\n" not in str(caught.value)


@needs("docker")
@pytest.mark.timeout(60)  # a hang fails here, not at the suite's limit
def test_an_unanswering_engine_times_out_instead_of_hanging() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        settings = DockerSettings(docker_host=host, connect_timeout_s=1)
        with pytest.raises(ComemError, match=f"No Docker engine is reachable at {host}") as caught:
            DockerEnvironment.start(IMAGE, settings=settings)
    assert "Read timed out" in caught.value.message  # the client's own timeout (connect_timeout_s) ended the wait


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The tools folder exactly as it is installed in a container."""
    root = tmp_path / "comem-tools"
    for name, data in tool_bundle().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if not name.endswith("/"):
            (root / name).write_bytes(data)
    return root


def run_tool(bundle: Path, tool: str, arguments: dict, root: Path) -> dict:
    """What the container does per call: a request file, a fresh interpreter without site-packages (so only the
    bundle is importable), one JSON line back."""
    request = bundle / "requests" / "1.json"
    request.parent.mkdir(exist_ok=True)
    request.write_text(json.dumps({"tool": tool, "arguments": arguments, "root": str(root),
                                   "state": str(bundle / "editor.pickle")}))
    done = subprocess.run([sys.executable, "-S", "-E", "-B", "-m", "comem.environment.docker.tool_runner",
                           "requests/1.json"], cwd=bundle, capture_output=True, text=True, check=True)
    assert not request.exists()
    return json.loads(done.stdout)


def test_tool_runner_gives_the_local_editors_answers_and_keeps_undo_between_processes(
        bundle: Path, tmp_path: Path) -> None:
    local, remote = write_repo(tmp_path / "local"), write_repo(tmp_path / "remote")
    editor = FileEditor(local.resolve())
    calls = [
        {"command": "view", "path": "."},
        {"command": "view", "path": "pkg/mod.py", "view_range": [1, 2]},
        {"command": "str_replace", "path": "pkg/mod.py", "old_str": "return a - b\n\n\ndef sub",
         "new_str": "return a + b\n\n\ndef sub"},
        {"command": "insert", "path": "README.md", "insert_line": 0, "new_str": "top"},
        {"command": "create", "path": "pkg/new.py", "file_text": "x = 1\n"},
        {"command": "undo_edit", "path": "pkg/mod.py"},
        {"command": "undo_edit", "path": "pkg/new.py"},
    ]
    for args in calls:
        reply = run_tool(bundle, "file_editor", args, remote.resolve())
        assert reply == {"status": "ok", "output": editor.run(args)}
    for name in REPO_FILES:
        assert (remote / name).read_text() == (local / name).read_text()
    assert (remote / "README.md").read_text().startswith("top\n") and not (remote / "pkg/new.py").exists()


def test_tool_runner_returns_errors_by_kind(bundle: Path, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo").resolve()
    missing = run_tool(bundle, "file_editor", {"command": "str_replace", "path": "pkg/mod.py", "old_str": "nope"}, root)
    assert missing["status"] == "tool" and "did not appear verbatim" in missing["output"]
    bad_range = run_tool(bundle, "file_editor", {"command": "view", "path": "pkg/mod.py", "view_range": [0, 1]}, root)
    assert bad_range["status"] == "argument" and "Invalid view_range" in bad_range["output"]
    not_a_dir = run_tool(bundle, "file_editor", {"command": "create", "path": "README.md/x", "file_text": ""}, root)
    assert not_a_dir["status"] == "os" and not_a_dir["filename"] == str(root / "README.md")


def test_tool_runner_search_is_the_local_search(bundle: Path, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo").resolve()
    reply = run_tool(bundle, "search", {"search_term": "return a - b", "path": "."}, root)
    assert reply == {"status": "ok", "output": "Found 2 matches for 'return a - b' in .:\n"
                                               "pkg/mod.py:2: return a - b\npkg/mod.py:6: return a - b"}


def wrapped(command: str, cwd: Path, limit_s: float = 5) -> tuple[int, str]:
    """The bash wrapper as `docker exec` runs it, here with the host's bash and coreutils. A wrapper that waited for
    a job that never ends would hit `timeout` (subprocess.TimeoutExpired) instead of returning."""
    done = subprocess.run(["bash", "-c", BASH_WRAPPER, "bash", f"{limit_s:g}", command], cwd=cwd,
                          capture_output=True, text=True, timeout=30)
    assert done.stderr == ""
    return done.returncode, done.stdout


def test_bash_wrapper_merges_output_and_keeps_the_exit_code(tmp_path: Path) -> None:
    code, out = wrapped("echo out; echo err >&2; read -r line; echo \"[$line]\"; exit 3", tmp_path)
    assert (code, out) == (3, "out\nerr\n[]\n")  # stdin is empty


def test_bash_wrapper_does_not_wait_for_background_jobs_and_kills_them(tmp_path: Path) -> None:
    code, out = wrapped("sleep 1000 & echo $!", tmp_path)  # returned, so it did not wait for the job
    assert code == 0
    pid = int(out)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        if "zombie" in Path(f"/proc/{pid}/status").read_text(errors="replace"):
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_bash_wrapper_times_out_with_124(tmp_path: Path) -> None:
    code, out = wrapped("echo started; sleep 1000", tmp_path, limit_s=1)  # returned: the limit stopped it
    assert code == TIMEOUT_EXIT_CODE and out == "started\n"


def git(root: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True).stdout


def snapshot(root: Path, *command: str) -> str:
    return subprocess.run(["bash", "-c", GIT_SNAPSHOT, "git-snapshot", "git", *command], cwd=root,
                          capture_output=True, text=True, check=True).stdout


def test_git_snapshot_diffs_against_the_starting_tree_without_touching_the_index(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (root / "setup.log").write_text("left by the image's setup\n")
    (root / SETUP_CHANGE[0]).write_text(SETUP_CHANGE[2])
    base = snapshot(root, "write-tree").strip()

    (root / "pkg/mod.py").write_text((root / "pkg/mod.py").read_text().replace("a - b", "a + b", 1))
    (root / "pkg/extra.py").write_text("y = 2\n")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "the agent commits")
    diff = snapshot(root, "diff", "--cached", "--no-color", "--no-ext-diff", base)

    assert "+    return a + b" in diff and "diff --git a/pkg/extra.py b/pkg/extra.py\nnew file mode" in diff
    assert "setup.log" not in diff and "installed" not in diff
    assert git(root, "status", "--porcelain") == "?? pkg/extra.py\n?? setup.log\n"  # nothing staged by us


# ---------------------------------------------------------------------------------------------- a real engine


@pytest.fixture
def container() -> Iterator[DockerEnvironment]:
    with DockerEnvironment.start(mini_image(), settings=DockerSettings(activate=ACTIVATE), bash_timeout_s=3) as env:
        yield env


def call(env: DockerEnvironment | Workspace, name: str, **arguments: object) -> ToolResult:
    return asyncio.run(env.execute(ToolCall(name=name, arguments=arguments)))


def test_tools_in_the_container_answer_like_the_local_workspace(container: DockerEnvironment, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo")
    (repo / SETUP_CHANGE[0]).write_text(SETUP_CHANGE[2])
    (repo / "setup.log").write_text("built\n")
    calls = [
        ("file_editor", {"command": "view", "path": "."}),
        ("file_editor", {"command": "view", "path": "pkg/mod.py"}),
        ("file_editor", {"command": "str_replace", "path": "pkg/mod.py", "old_str": "a - b", "new_str": "a + b"}),
        ("file_editor", {"command": "str_replace", "path": "pkg/mod.py", "old_str": "return a - b\n\n\ndef sub",
                         "new_str": "return a + b\n\n\ndef sub"}),
        ("file_editor", {"command": "insert", "path": "pkg/mod.py", "insert_line": "2", "new_str": "# fixed"}),
        ("file_editor", {"command": "undo_edit", "path": "pkg/mod.py"}),
        ("file_editor", {"command": "view", "path": "pkg/mod.py", "view_range": "[9, 3]"}),
        ("file_editor", {"command": "create", "path": "pkg/new.py"}),
        ("file_editor", {"command": "delete", "path": "pkg/mod.py"}),
        ("search", {"search_term": "def "}),
        ("search", {"search_term": "sub", "path": "nowhere"}),
        ("bash", {"command": "python3 -c 'from pkg.mod import add; print(add(2, 3))'"}),
        ("bash", {"command": "cat pkg/mod.py; exit 4"}),
        ("bash", {"command": "vim pkg/mod.py"}),
        ("submit", {}),
        ("edit", {}),
    ]
    with Workspace.create(repo, bash_timeout_s=3) as local:
        for name, args in calls:
            remote_result, local_result = call(container, name, **args), call(local, name, **args)
            assert (remote_result.output, remote_result.exit_code, remote_result.done) == (
                local_result.output, local_result.exit_code, local_result.done), (name, args)


def test_bash_runs_activated_in_the_repo_and_is_bounded(container: DockerEnvironment) -> None:
    result = call(container, "bash", command="echo $COMEM_ACTIVATED; pwd; echo $PYTHONDONTWRITEBYTECODE")
    assert result.output.endswith("[bash]:\ntestbed\n/testbed\n1") and result.exit_code == 0

    # the background job neither stalls the call (it would run into the client's read timeout) ...
    background = call(container, "bash", command="sleep 1000 & echo $!")
    assert background.exit_code == 0
    pid = background.output.rsplit("\n", 1)[-1]
    assert call(container, "bash", command=f"test -e /proc/{pid} || echo gone").output.endswith("gone")  # ... nor stays

    timed_out = call(container, "bash", command="echo partial; sleep 30")
    assert timed_out.exit_code == TIMEOUT_EXIT_CODE
    assert timed_out.output.endswith("partial\nCommand timed out after 3 s; it and its child processes were killed. "
                                     "Run a narrower or faster command.")

    long = call(container, "bash", command="seq 1 100000")
    assert "<Observation truncated in middle for saving context: 99920 lines omitted>" in long.output
    assert long.output.endswith("\n100000")


def test_diff_is_the_agents_change_only(container: DockerEnvironment) -> None:
    assert container.diff() == ""  # the image's own setup changes are the base
    call(container, "file_editor", command="str_replace", path="pkg/mod.py", old_str="return a - b\n\n\ndef sub",
         new_str="return a + b\n\n\ndef sub")
    call(container, "bash", command="mkdir -p pkg/__pycache__ && touch pkg/__pycache__/mod.pyc && echo 1 > new.txt "
                                    "&& git add -A && git -c user.name=a -c user.email=a@a commit -qm agent")
    diff = container.diff()
    assert "-    return a - b\n+    return a + b" in diff and "diff --git a/new.txt b/new.txt\nnew file mode" in diff
    assert "__pycache__" not in diff and "setup.log" not in diff and "installed" not in diff
    assert container.files() == sorted(["README.md", "new.txt", "pkg/__init__.py", "pkg/mod.py", "setup.log",
                                        "tests/test_mod.py"])


def test_close_removes_the_container() -> None:
    image = mini_image()  # skips without an engine (or the docker package)
    import docker

    env = DockerEnvironment.start(image, settings=DockerSettings(activate=None))
    name = env._container.name
    client = connect()
    assert client.containers.get(name).labels[LABEL] == "docker"
    env.close()
    env.close()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)
    client.close()


def test_a_missing_image_names_the_pull_command() -> None:
    require_engine()
    with pytest.raises(ComemError, match="comem-test/absent:1 is not available locally") as caught:
        DockerEnvironment.start("comem-test/absent:1")
    assert "`docker pull comem-test/absent:1`" in caught.value.fix


@pytest.mark.parametrize(("settings", "message"), [
    (DockerSettings(activate="conda activate nowhere"), "Activating the environment in .* failed"),
    (DockerSettings(activate=None, tool_python="/no/python3"), r"No Python >= 3.10 found .*tried /no/python3"),
    (DockerSettings(activate=None, workdir="/srv"), "must hold a git repository at /srv"),
])
def test_an_unsuitable_image_is_a_clear_error_and_leaves_no_container(settings: DockerSettings, message: str) -> None:
    image = mini_image()
    client = connect()
    before = {c.id for c in client.containers.list(all=True, filters={"label": LABEL})}
    with pytest.raises(ComemError, match=message):
        DockerEnvironment.start(image, settings=settings)
    assert {c.id for c in client.containers.list(all=True, filters={"label": LABEL})} == before
    client.close()
