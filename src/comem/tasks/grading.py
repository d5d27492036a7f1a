"""SWE-bench-style grading: apply the hidden tests to a copy of the agent's repo and run them.

``grade`` never raises because of what the agent did (failing tests, broken code, a test run
that hangs, a test patch that no longer applies): all of those give ``resolved=False`` and,
for the non-test failures, ``error`` set. It raises ComemError only for caller mistakes
(a workdir that does not exist).
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path, PurePosixPath

import pydantic

from comem.core.errors import ComemError
from comem.environment.bash import child_env
from comem.tasks.task import Task

LOG_CAP = 20_000  # characters of test output kept in GradeResult.log (the tail)

# Not copied from the agent's workdir: VCS metadata and caches only slow the copy down and
# could make stale bytecode or a stale pytest cache leak into the run.
_IGNORED_NAMES = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv"}
# Extra pytest arguments: report every outcome (-rA) and never write a cache into the repo.
_PYTEST_ARGS = ["-rA", "--tb=short", "-p", "no:cacheprovider"]
_PASSING = {"PASSED", "XFAIL", "XPASS"}
_STATUS_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(\S.*?)\s*$")


class GradeResult(pydantic.BaseModel):
    resolved: bool
    fail_to_pass: dict[str, bool]
    pass_to_pass: dict[str, bool]
    log: str  # tail of the test output (capped at LOG_CAP characters)
    elapsed_s: float
    error: str | None = None  # e.g. "test_patch does not apply", "timeout"


def grade(task: Task, workdir: Path, timeout_s: float = 300) -> GradeResult:
    """SWE-bench style: copy workdir (the agent's edited repo) to a fresh temp dir, apply
    task.test_patch (overwriting any test files the agent touched at those paths), run the test
    command on the listed FAIL_TO_PASS + PASS_TO_PASS node ids with `-rA`, parse per-test
    pass/fail. resolved = all F2P pass and all P2P pass. Never raises on test failures, timeouts
    or patch failures: they give resolved=False with `error` set. Tests run in a subprocess with
    its own process group, killed on timeout, env PYTHONDONTWRITEBYTECODE=1, cwd = the temp copy.
    """
    start = time.monotonic()
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise ComemError(
            f"Cannot grade {task.instance_id}: workdir {workdir} does not exist.",
            fix="Pass the directory holding the agent's edited copy of the task repository.",
        )
    tests = list(dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))

    def result(outcomes: dict[str, bool], log: str, error: str | None = None) -> GradeResult:
        f2p = {t: outcomes.get(t, False) for t in task.FAIL_TO_PASS}
        p2p = {t: outcomes.get(t, False) for t in task.PASS_TO_PASS}
        resolved = error is None and bool(tests) and all(f2p.values()) and all(p2p.values())
        return GradeResult(
            resolved=resolved,
            fail_to_pass=f2p,
            pass_to_pass=p2p,
            log=_tail(log),
            elapsed_s=round(time.monotonic() - start, 3),
            error=error,
        )

    if not tests:
        return result({}, "", error="task lists no FAIL_TO_PASS or PASS_TO_PASS tests")

    with tempfile.TemporaryDirectory(prefix="comem-grade-") as tmp:
        tmp_path = Path(tmp)
        repo = tmp_path / "repo"
        try:
            shutil.copytree(workdir, repo, symlinks=True, ignore=_ignore)
        except (OSError, shutil.Error) as exc:
            return result({}, str(exc), error=f"could not copy workdir: {exc}")

        log_parts: list[str] = []
        restored = restore_decisive_files(task, repo)
        if restored:
            log_parts.append(f"[comem] restored to the task's base: {', '.join(restored)}")
        if task.test_patch.strip():
            ok, out = git_apply(task.test_patch, repo, tmp_path)
            if not ok:
                return result({}, out, error="test_patch does not apply")
            if out.strip():
                log_parts.append(out.strip())

        env_overrides, cmd = command_argv(task.test_command)
        env = grading_env(tmp_path)
        env.update(env_overrides)
        deadline = start + timeout_s
        out_file = tmp_path / "test-output.txt"

        rc, timed_out, output = run_test_command(cmd + _PYTEST_ARGS + tests, repo, env, deadline, out_file)
        if not timed_out and rc == 4:
            # Usage error: some node id does not exist (the agent deleted or renamed a test), or a
            # test module failed to import ("found no collectors"). Run the test files instead so
            # that the other tests still get a verdict; the missing ones count as failed.
            files = [f for f in dict.fromkeys(t.split("::")[0] for t in tests) if (repo / f).exists()]
            if files:
                first = output
                rc, timed_out, output = run_test_command(cmd + _PYTEST_ARGS + files, repo, env, deadline, out_file)
                output = first + "\n[comem] re-running whole test files\n" + output

        header = f"$ {shlex.join(cmd + _PYTEST_ARGS)} <{len(tests)} test ids>"
        log = "\n".join([*log_parts, header, output])
        outcomes = _parse_outcomes(output, tests)
        if timed_out:
            return result(outcomes, log, error=f"timeout: tests ran longer than {timeout_s:g}s")
        if not outcomes and "short test summary info" not in output:
            # pytest never got to report on any test: a usage error, no tests collected, pytest not
            # installed, a command that is not pytest... That is no verdict on the agent's work.
            # (Code that fails to import still gets a summary with ERROR lines: plain failures.)
            return result(outcomes, log, error=f"test command failed (exit code {rc}) before reporting results")
        return result(outcomes, log)


# --------------------------------------------------------------------------- helpers


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _IGNORED_NAMES or n.endswith(".pyc")}


def _tail(text: str) -> str:
    if len(text) <= LOG_CAP:
        return text
    return "[... truncated ...]\n" + text[-LOG_CAP:]


def patch_paths(patch: str) -> list[str]:
    """Repository-relative paths that a unified diff touches (both sides, /dev/null left out)."""
    paths: list[str] = []
    for line in patch.splitlines():
        candidates: list[str] = []
        if line.startswith("diff --git "):
            m = re.match(r'^diff --git "?a/(.+?)"? "?b/(.+?)"?$', line)
            if m:
                candidates = [m.group(1), m.group(2)]
        elif line.startswith(("--- ", "+++ ")):
            name = line[4:].split("\t")[0].strip().strip('"')
            if name != "/dev/null" and name[:2] in ("a/", "b/"):
                candidates = [name[2:]]
        for c in candidates:
            if c not in paths:
                paths.append(c)
    return paths


def _safe_relative(path: str) -> bool:
    p = PurePosixPath(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts


# pytest reads its configuration from the first of these it finds at the root; setup.cfg, tox.ini and
# pyproject.toml only count through their pytest section.
_PYTEST_CONFIG = {"pytest.ini": None, ".pytest.ini": None, "pyproject.toml": "tool.pytest", "tox.ini": "pytest",
                  "setup.cfg": "tool:pytest"}


def decisive_files(task: Task, repo: Path) -> list[str]:
    """The files whose content decides the verdict and so must be the task's, not the agent's: those the test patch
    touches, those holding a FAIL_TO_PASS or PASS_TO_PASS test, every conftest.py (in the base repository or put
    there by the agent) and the pytest configuration files at the root."""
    paths = [*patch_paths(task.test_patch), *(t.split("::")[0] for t in [*task.FAIL_TO_PASS, *task.PASS_TO_PASS])]
    for root in (task.repo_dir, repo):
        paths += sorted(p.relative_to(root).as_posix() for p in root.rglob("conftest.py")
                        if not set(p.relative_to(root).parts) & _IGNORED_NAMES)
    paths += list(_PYTEST_CONFIG)
    return [p for p in dict.fromkeys(paths) if _safe_relative(p)]


def restore_decisive_files(task: Task, repo: Path) -> list[str]:
    """Put every decisive file back to its base content, like SWE-bench's `git checkout <base> -- <test files>`:
    the agent's edits there are discarded, files it added there are removed (so the test patch applies cleanly).
    A setup.cfg, tox.ini or pyproject.toml is restored only when its pytest section changed, so an agent's other
    edits to it stand. Returns the paths that changed."""
    changed = []
    for rel in decisive_files(task, repo):
        base, dest = task.repo_dir / rel, repo / rel
        section = _PYTEST_CONFIG.get(rel)
        if section is not None and dest.is_file() and (
                _pytest_section(base, section) == _pytest_section(dest, section) if base.is_file()
                else _pytest_section(dest, section) is None):
            continue  # its pytest section is the base's (or, in a file the agent added, absent)
        if _same_file(base, dest):
            continue
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest, ignore_errors=True)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        if base.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base, dest)
        changed.append(rel)
    return changed


def _same_file(a: Path, b: Path) -> bool:
    if not (a.exists() or a.is_symlink()) and not (b.exists() or b.is_symlink()):
        return True
    return a.is_file() and b.is_file() and not b.is_symlink() and a.read_bytes() == b.read_bytes()


def _pytest_section(path: Path, section: str) -> object:
    """The pytest settings of a configuration file, compared as data (None when it has none or does not parse)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return path.read_bytes() if path.is_file() else None
    if path.suffix == ".toml":
        try:
            data: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return text
        for key in section.split("."):
            data = data.get(key) if isinstance(data, dict) else None
        return data
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return text
    return dict(parser.items(section)) if parser.has_section(section) else None


def git_apply(patch: str, repo: Path, tmp: Path) -> tuple[bool, str]:
    patch_file = tmp / "test_patch.diff"
    text = patch if patch.endswith("\n") else patch + "\n"
    patch_file.write_text(text, encoding="utf-8")
    env = dict(os.environ)
    # Never let git discover an enclosing repository: apply to the plain directory.
    env["GIT_CEILING_DIRECTORIES"] = str(tmp)
    try:
        proc = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-v", str(patch_file)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
    except FileNotFoundError:
        return False, "git is not installed; it is needed to apply the test patch"
    except subprocess.TimeoutExpired:
        return False, "git apply timed out"
    out = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0, out


_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def command_argv(test_command: str) -> tuple[dict[str, str], list[str]]:
    """Split a test command into leading `NAME=value` environment assignments (as in a shell)
    and argv, with `python`/`python3` replaced by the interpreter running comem."""
    parts = shlex.split(test_command)
    env: dict[str, str] = {}
    while parts and _ENV_ASSIGNMENT.match(parts[0]):
        name, _, value = parts.pop(0).partition("=")
        env[name] = value
    if not parts:
        parts = ["python", "-m", "pytest"]
    return env, [sys.executable if p in ("python", "python3") else p for p in parts]


def grading_env(tmp: Path) -> dict[str, str]:
    """The tests run the agent's code: they get the clean environment its bash tool gets (no host secrets, no
    PYTHONPATH or pytest settings of the host), with a home of their own under `tmp`."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = child_env(home)
    env.update(
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        PY_COLORS="0",
        NO_COLOR="1",
        COLUMNS="240",
        GIT_CEILING_DIRECTORIES=str(tmp),
    )
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - non-POSIX
            proc.kill()


def run_test_command(
    cmd: list[str], cwd: Path, env: dict[str, str], deadline: float, out_file: Path
) -> tuple[int | None, bool, str]:
    """Run cmd with output to a file (no pipe a stray grandchild could hold open).
    Returns (exit code or None, timed out?, output)."""
    remaining = max(deadline - time.monotonic(), 0.1)
    timed_out = False
    rc: int | None = None
    with out_file.open("wb") as out:
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return 127, False, f"could not start test command {cmd[0]!r}: {exc}"
        try:
            rc = proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        finally:
            _kill_group(proc)  # background processes the tests left behind
    output = out_file.read_bytes().decode("utf-8", errors="replace")
    if timed_out:
        output += f"\n[comem] test run killed after timeout; exit code {proc.returncode}\n"
    return rc, timed_out, output


def _parse_outcomes(output: str, tests: list[str]) -> dict[str, bool]:
    """Per-test verdicts from pytest's `-rA` short summary. A test passes when it is reported
    only as PASSED/XFAIL/XPASS; a test reported FAILED or ERROR anywhere (e.g. an error in
    teardown) fails; a test not reported at all is left out (counts as failed).

    An id that names a parametrized function (`tests/t.py::test_f`) is reported by pytest only as its cases
    (`test_f[a]`, `test_f[b]`): it passes when every case that ran passed and at least one ran.
    """
    wanted = set(tests)
    statuses: dict[str, set[str]] = {}
    for line in output.splitlines():
        m = _STATUS_LINE.match(line)
        if not m:
            continue
        status, rest = m.groups()
        candidates = [rest]
        idx = rest.find(" - ")
        while idx != -1:
            candidates.append(rest[:idx])
            idx = rest.find(" - ", idx + 1)
        for cand in candidates:
            owner = cand if cand in wanted else _parametrized_owner(cand, wanted)
            if owner is not None:
                statuses.setdefault(owner, set()).add(status)
                break
    return {t: bool(s) and s <= _PASSING for t, s in statuses.items()}


def _parametrized_owner(node_id: str, wanted: set[str]) -> str | None:
    """The wanted function-level id of a parametrized case `...::test_f[params]`, if any."""
    cut = node_id.find("[")
    if cut <= 0 or not node_id.endswith("]"):
        return None
    owner = node_id[:cut]
    return owner if owner in wanted else None
