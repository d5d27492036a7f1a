"""Running a package's tests for synthesis: the whole suite once under coverage (which tests execute
which lines), then small selections of node ids against each mutant.

Each run is a subprocess in its own process group (killed on timeout) with the same environment and
command that grading uses, plus the synthesis plugin, which writes the per-test outcomes as JSON.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Literal

import pydantic

from comem.core.errors import ComemError
from comem.tasks.grading import command_argv, grading_env, run_test_command
from comem.tasks.synth.package import SourceTree
from comem.tasks.synth.plugin import REPORT_ENV

PLUGIN = "comem.tasks.synth.plugin"
_PYTEST_ARGS = ["-p", PLUGIN, "-p", "no:cacheprovider", "-q", "--tb=short"]
_TEST_DIRS = {"tests", "test", "testing"}


class Failure(pydantic.BaseModel):
    """What a failing test saw, as the plugin described it (see plugin.py)."""

    kind: Literal["equal", "truthy", "falsy", "raises", "no_raise", "other"] = "other"
    exc_type: str = ""
    message: str = ""
    statement: str | None = None  # the failing test statement
    expression: str | None = None  # the call that misbehaved, module aliases spelled out
    actual: str | None = None  # repr of what it gave
    expected: str | None = None  # repr of what the test wanted (an exception type for no_raise)
    raised: str | None = None  # "TypeError: ..." for kind raises
    locals: dict[str, str] = {}  # test variables the expression uses, as reprs


class Outcome(pydantic.BaseModel):
    outcome: Literal["passed", "failed", "skipped"]
    duration: float = 0.0
    failure: Failure | None = None


class SuiteRun(pydantic.BaseModel):
    tests: dict[str, Outcome] = {}
    collect_errors: dict[str, str] = {}
    timed_out: bool = False
    elapsed_s: float = 0.0
    log: str = ""  # tail of the pytest output

    def with_outcome(self, outcome: str) -> list[str]:
        return sorted(t for t, r in self.tests.items() if r.outcome == outcome)


def command_for(tree: SourceTree) -> str:
    """The command recorded in each task: plain pytest, no third-party plugins, the package's addopts off
    (they may ask for plugins such as pytest-cov, or add doctests of the very code that is mutated)."""
    path = f"PYTHONPATH={tree.pythonpath} " if tree.pythonpath else ""
    return f"{path}PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -o addopts="


def run_tests(repo: Path, command: str, node_ids: list[str] | None, timeout_s: float,
              coverage_data: Path | None = None) -> SuiteRun:
    """Run the given node ids (None: the suite as the package's pytest config collects it) in `repo`."""
    start = time.monotonic()
    env_overrides, cmd = command_argv(command)
    with tempfile.TemporaryDirectory(prefix="comem-synth-run-") as tmp:
        tmp_path = Path(tmp)
        report = tmp_path / "report.json"
        env = grading_env(tmp_path)
        env.update(env_overrides)
        env[REPORT_ENV] = str(report)
        if coverage_data is not None:
            cmd = _under_coverage(cmd, repo, coverage_data, tmp_path)
        _, timed_out, output = run_test_command(cmd + _PYTEST_ARGS + (node_ids or []), repo, env, start + timeout_s,
                                    tmp_path / "output.txt")
        data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    return SuiteRun(
        tests=data.get("tests", {}),
        collect_errors=data.get("collect_errors", {}),
        timed_out=timed_out,
        elapsed_s=round(time.monotonic() - start, 3),
        log=output[-4000:],
    )


def _under_coverage(cmd: list[str], repo: Path, data_file: Path, tmp: Path) -> list[str]:
    try:
        import coverage  # noqa: F401  -- only to fail early with a clear message
    except ImportError:
        raise ComemError("`comem tasks synth` needs coverage.py to find the tests that cover each function.",
                         fix="pip install coverage (a dependency of comem: reinstalling comem brings it).") from None
    rcfile = tmp / "coveragerc"  # ours only: the package's own coverage settings are not read
    rcfile.write_text(f"[run]\ndata_file = {data_file}\nsource =\n    {repo}\n", encoding="utf-8")
    if cmd[1:3] != ["-m", "pytest"]:
        raise ComemError(f"Cannot run {cmd} under coverage.", fix="Use a `python -m pytest` test command.")
    return [cmd[0], "-m", "coverage", "run", f"--rcfile={rcfile}", *cmd[1:]]


def is_test_code(rel: str) -> bool:
    """Test modules, conftest files and anything under a tests/ folder: never mutated."""
    path = PurePosixPath(rel)
    return bool(_TEST_DIRS.intersection(path.parts[:-1])) or path.name == "conftest.py" or \
        path.name.startswith("test_") or path.name.endswith("_test.py")


def covering_tests(data_file: Path, repo: Path) -> dict[str, dict[int, set[str]]]:
    """Non-test file (relative to repo) -> line -> node ids of the tests that executed it (import time left
    out)."""
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    out: dict[str, dict[int, set[str]]] = {}
    for measured in sorted(data.measured_files()):
        try:
            rel = Path(measured).resolve().relative_to(repo.resolve()).as_posix()
        except ValueError:
            continue
        if is_test_code(rel):
            continue
        lines = {line: {c for c in contexts if c} for line, contexts in data.contexts_by_lineno(measured).items()}
        lines = {line: tests for line, tests in lines.items() if tests}
        if lines:
            out[rel] = lines
    return out
