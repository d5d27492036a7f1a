"""The local workspace: a throwaway git copy of a repository, and the agent's tools acting on it.

The copy is committed as a base so `diff()` can report exactly what the agent changed, even if
the agent itself commits. Tool calls never raise on model mistakes: every bad call becomes an
observation that says what was wrong and what a valid call looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from comem.core.actions import argument_problem
from comem.core.errors import ComemError
from comem.core.records import ToolCall, ToolResult
from comem.environment.bash import BashLimits, BashRun, child_env, refusal, run_bash
from comem.environment.file_editor import FileEditor
from comem.environment.search import search
from comem.environment.tools import (
    TOOL_NAMES,
    ToolArgumentError,
    ToolError,
    build_tool_specs,
    text_arg,
    usage,
    valid_tools,
)

_COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".git")
# Tool caches the agent's commands create (HOME is the workspace) are not part of its patch.
GIT_EXCLUDES = """\
__pycache__/
*.py[co]
.pytest_cache/
.mypy_cache/
.ruff_cache/
.hypothesis/
.cache/
.config/
.local/
.python_history
"""


def _remove_tree(path: Path) -> None:
    """rmtree that also copes with directories the agent made read-only."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError:
        for directory, subdirs, _files in os.walk(path):
            for name in subdirs:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(directory, name), stat.S_IRWXU)
        shutil.rmtree(path, ignore_errors=True)


class Workspace:
    """A temporary copy of a repository that implements the `Environment` protocol."""

    def __init__(self, tmp_dir: Path, root: Path, base_commit: str, limits: BashLimits) -> None:
        self.root = root
        # Deletes the copy even if a caller forgets close(): on garbage collection or at exit.
        self._cleanup = weakref.finalize(self, _remove_tree, tmp_dir)
        self._base_commit = base_commit
        self._limits = limits
        self._env = child_env(home=root)
        self._editor = FileEditor(root)
        self.tool_specs: list[dict[str, Any]] = build_tool_specs(limits.timeout_s)

    @classmethod
    def create(
        cls,
        repo_dir: Path,
        *,
        bash_timeout_s: float = 60.0,
        max_output_lines: int = 80,
        max_output_bytes: int = 1_000_000,
    ) -> Workspace:
        """Copy `repo_dir` (without caches or its .git) to a temp dir and commit it as the base."""
        repo_dir = Path(repo_dir)
        if not repo_dir.is_dir():
            raise ComemError(
                f"Repository directory {repo_dir} does not exist or is not a directory.",
                fix="Pass the path of an existing repository checkout.",
            )
        tmp_dir = Path(tempfile.mkdtemp(prefix="comem-ws-")).resolve()
        root = tmp_dir / (repo_dir.resolve().name or "repo")
        try:
            shutil.copytree(repo_dir, root, symlinks=True, ignore=_COPY_IGNORE)
            _git(root, "init", "-q")
            (root / ".git" / "info").mkdir(parents=True, exist_ok=True)
            (root / ".git" / "info" / "exclude").write_text(GIT_EXCLUDES)
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "--no-verify", "--allow-empty", "-m", "base")
            base_commit = _git(root, "rev-parse", "HEAD").strip()
        except (OSError, shutil.Error) as error:
            _remove_tree(tmp_dir)
            raise ComemError(
                f"Could not copy {repo_dir} into a workspace: {error}",
                fix="Check that the repository is readable and the temp dir has space.",
            ) from error
        except BaseException:
            _remove_tree(tmp_dir)
            raise
        limits = BashLimits(bash_timeout_s, max_output_lines, max_output_bytes)
        return cls(tmp_dir, root, base_commit, limits)

    async def execute(self, call: ToolCall) -> ToolResult:
        return await dispatch(call, self.tool_specs, self)

    async def bash(self, command: str) -> BashRun:
        return await run_bash(command, self.root, self._env, self._limits)

    async def file_editor(self, args: dict[str, Any]) -> str:
        return await asyncio.to_thread(self._editor.run, args)  # file I/O never holds up the event loop

    async def search(self, search_term: str, path: str) -> str:
        return await asyncio.to_thread(search, self.root, search_term, path)

    def diff(self) -> str:
        """The agent's changes against the base commit, new untracked files included; "" if the agent deleted the
        workspace itself (the grader then reports it unresolved)."""
        if not self.root.is_dir():
            return ""
        with tempfile.TemporaryDirectory(prefix="comem-index-") as scratch:
            # A scratch index: staging everything must not disturb the repository the agent sees. copy2 keeps the
            # index file's mtime, which git's racy-entry check needs: a same-size edit in the second the file was
            # indexed has the index's stat data, and git re-reads it only when the index is not older than it.
            index = Path(scratch) / "index"
            if (self.root / ".git" / "index").is_file():
                shutil.copy2(self.root / ".git" / "index", index)
            env = {"GIT_INDEX_FILE": str(index)}
            _git(self.root, "add", "-A", env=env)
            return _git(self.root, "diff", "--cached", "--no-color", "--no-ext-diff", self._base_commit, env=env)

    def close(self) -> None:
        """Delete the copy; safe to call twice."""
        self._cleanup()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Tools(Protocol):
    """Where the four tools run: on the host for a workspace, inside a container for a Docker environment."""

    async def bash(self, command: str) -> BashRun: ...

    async def file_editor(self, args: dict[str, Any]) -> str: ...

    async def search(self, search_term: str, path: str) -> str: ...


async def dispatch(call: ToolCall, specs: list[dict[str, Any]], tools: Tools) -> ToolResult:
    """Run one tool call; every model mistake becomes an observation saying what a valid call looks like."""
    start = time.monotonic()
    result = await _dispatch(call, specs, tools)
    result.elapsed_s = time.monotonic() - start
    return result


async def _dispatch(call: ToolCall, specs: list[dict[str, Any]], tools: Tools) -> ToolResult:
    name, args = call.name, call.arguments
    if name not in TOOL_NAMES or not any(spec["function"]["name"] == name for spec in specs):  # not in the set
        return ToolResult(output=f"Unknown tool `{name}`. {valid_tools(specs)}", exit_code=1)
    problem = argument_problem(args)
    if problem:
        return ToolResult(output=f"Execution output of [{name}]:\nERROR: {problem}", exit_code=1)
    try:
        if name == "bash":
            return await _bash(args, tools)
        if name == "file_editor":
            output = await tools.file_editor(args)
        elif name == "search":
            term = text_arg(args, "search_term", required=True) or ""
            path = text_arg(args, "path", required=False, default=".") or "."
            output = await tools.search(term, path)
        else:
            return ToolResult(output="<<< Finished >>>", exit_code=0, done=True)
    except ToolArgumentError as error:
        output = f"ERROR: {error}\nUsage: {usage(specs, name)}"
    except ToolError as error:
        output = f"ERROR: {error}"
    except OSError as error:  # e.g. a file the agent made unreadable
        output = f"ERROR: {error.strerror or error}: {error.filename or ''}".rstrip(": ")
    else:
        return ToolResult(output=f"Execution output of [{name}]:\n{output}", exit_code=0)
    return ToolResult(output=f"Execution output of [{name}]:\n{output}", exit_code=1)


async def _bash(args: dict[str, Any], tools: Tools) -> ToolResult:
    command = (text_arg(args, "command", required=True) or "").strip()
    if not command:
        raise ToolArgumentError("`command` is empty.")
    reason = refusal(command)
    if reason:
        raise ToolError(reason)
    run = await tools.bash(command)
    output = run.output or "(no output)"
    return ToolResult(
        output=f"Exit code: {run.exit_code}\nExecution output of [bash]:\n{output}", exit_code=run.exit_code
    )


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git with no user or system config, so host settings (hooks, signing, pagers) cannot interfere."""
    full_env = {
        **child_env(home=root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **(env or {}),
    }
    if not root.is_dir():
        raise ComemError(f"The workspace {root} no longer exists.",
                         fix="the agent's commands deleted it; rerun the task.")
    try:
        done = subprocess.run(["git", *args], cwd=root, env=full_env, capture_output=True, check=False)
    except FileNotFoundError as error:
        raise ComemError(
            "git was not found.", fix="Install git; workspaces use it to record the agent's patch."
        ) from error
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip()
        raise ComemError(
            f"`git {' '.join(args)}` failed in {root}: {stderr}",
            fix="Check that git is installed; if the agent damaged the workspace's .git, rerun the task.",
        )
    return done.stdout.decode("utf-8", errors="replace")
