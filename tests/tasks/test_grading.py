"""Grading with real files and real pytest subprocesses."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.tasks.grading import LOG_CAP, _parse_outcomes, grade, patch_paths
from comem.tasks.task import Task

FAST = "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest"

BUGGY = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
FIXED = BUGGY.replace("a - b", "a + b")
VISIBLE_TESTS = "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
HIDDEN_TESTS = (
    "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_mul_zero():\n    assert mul(5, 0) == 0\n"
)


def diff(path: str, old: str | None, new: str) -> str:
    """A git-style unified diff creating (old=None) or modifying `path`."""
    a = [] if old is None else old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, "/dev/null" if old is None else f"a/{path}", f"b/{path}"))
    header = f"diff --git a/{path} b/{path}\n" + ("new file mode 100644\n" if old is None else "")
    return header + "".join(lines)


def make_repo(root: Path, calc: str = BUGGY) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(calc)
    (root / "tests" / "test_calc.py").write_text(VISIBLE_TESTS)
    return root


def make_task(tmp_path: Path, *, test_patch: str | None = None, test_command: str = FAST, **fields) -> Task:
    repo = make_repo(tmp_path / "base")
    data = dict(
        instance_id="calc-1",
        problem_statement="add() subtracts",
        FAIL_TO_PASS=["tests/test_hidden.py::test_add"],
        PASS_TO_PASS=["tests/test_hidden.py::test_mul_zero", "tests/test_calc.py::test_mul"],
        test_patch=diff("tests/test_hidden.py", None, HIDDEN_TESTS) if test_patch is None else test_patch,
        patch=diff("calc.py", BUGGY, FIXED),
        repo_dir=repo,
        test_command=test_command,
    )
    data.update(fields)
    return Task(**data)


def agent_copy(task: Task, tmp_path: Path, calc: str | None = None) -> Path:
    work = tmp_path / "work"
    shutil.copytree(task.repo_dir, work)
    if calc is not None:
        (work / "calc.py").write_text(calc)
    return work


# --------------------------------------------------------------------------- verdicts


def test_unfixed_repo_is_not_resolved(tmp_path):
    task = make_task(tmp_path)
    result = grade(task, task.repo_dir)
    assert result.error is None, result.log
    assert not result.resolved
    assert result.fail_to_pass == {"tests/test_hidden.py::test_add": False}
    assert result.pass_to_pass == {"tests/test_hidden.py::test_mul_zero": True, "tests/test_calc.py::test_mul": True}
    assert "FAILED tests/test_hidden.py::test_add" in result.log


def test_fixed_repo_is_resolved_with_default_command(tmp_path):
    task = make_task(tmp_path, test_command="python -m pytest")
    work = agent_copy(task, tmp_path, calc=FIXED)
    result = grade(task, work)
    assert result.resolved, result.log
    assert all(result.fail_to_pass.values()) and all(result.pass_to_pass.values())
    assert result.error is None
    assert result.elapsed_s > 0


def test_grading_leaves_workdir_untouched(tmp_path):
    task = make_task(tmp_path)
    work = agent_copy(task, tmp_path, calc=FIXED)
    before = sorted(p.relative_to(work).as_posix() for p in work.rglob("*"))
    assert grade(task, work).resolved
    after = sorted(p.relative_to(work).as_posix() for p in work.rglob("*"))
    assert before == after  # no hidden tests, no __pycache__, no .pytest_cache left behind


def test_broken_code_is_a_failure_not_an_error(tmp_path):
    task = make_task(tmp_path)
    work = agent_copy(task, tmp_path, calc="def add(a, b):\n    return a +\n")
    result = grade(task, work)
    assert not result.resolved
    assert not any(result.fail_to_pass.values()) and not any(result.pass_to_pass.values())
    assert result.error is None
    assert "SyntaxError" in result.log


def test_a_deleted_test_is_restored_from_the_base_and_graded(tmp_path):
    task = make_task(tmp_path)
    work = agent_copy(task, tmp_path, calc=FIXED)
    (work / "tests" / "test_calc.py").write_text("def test_other():\n    pass\n")
    result = grade(task, work)
    assert result.resolved  # the tests that decide are the task's, not the agent's
    assert result.pass_to_pass["tests/test_calc.py::test_mul"] is True
    assert "restored to the task's base: tests/test_calc.py" in result.log


# --------------------------------------------------------------------------- tampering


def in_repo_task(tmp_path: Path) -> Task:
    """A SWE-smith-style task: the failing test already lives in the repository, so `test_patch` is empty."""
    repo = make_repo(tmp_path / "base")
    (repo / "tests" / "test_hidden.py").write_text(HIDDEN_TESTS)
    return Task(instance_id="calc-2", problem_statement="add() subtracts", repo_dir=repo, test_patch="",
                FAIL_TO_PASS=["tests/test_hidden.py::test_add"], PASS_TO_PASS=["tests/test_calc.py::test_mul"],
                patch=diff("calc.py", BUGGY, FIXED), test_command=FAST)


def test_editing_the_failing_test_until_it_passes_is_not_resolved(tmp_path):
    task = in_repo_task(tmp_path)
    work = agent_copy(task, tmp_path)  # the bug stays; the agent rewrites the test instead
    (work / "tests" / "test_hidden.py").write_text(HIDDEN_TESTS.replace("add(2, 3) == 5", "add(2, 3) == -1"))
    assert not grade(task, work).resolved
    (work / "calc.py").write_text(FIXED)
    assert grade(task, work).resolved  # the real fix still counts


CHEAT = "import calc\n\ncalc.add = lambda a, b: a + b\n"  # makes the failing test pass without a fix


@pytest.mark.parametrize(("path", "text"), [
    ("conftest.py", CHEAT),
    ("tests/conftest.py", CHEAT),
    ("pytest.ini", "[pytest]\naddopts = -p cheat\n"),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-p cheat'\n"),
    ("setup.cfg", "[tool:pytest]\naddopts = -p cheat\n"),
    ("tox.ini", "[pytest]\naddopts = -p cheat\n"),
])
def test_conftest_and_pytest_configuration_from_the_agent_do_not_count(tmp_path, path, text):
    task = in_repo_task(tmp_path)
    work = agent_copy(task, tmp_path)
    (work / "cheat.py").write_text(CHEAT)
    (work / path).write_text(text)
    raw = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_hidden.py"],
                         cwd=work, capture_output=True, text=True)
    assert raw.returncode == 0  # as the agent left it, the tampering works
    result = grade(task, work)
    assert not result.resolved and result.fail_to_pass == {"tests/test_hidden.py::test_add": False}


def test_an_agent_edit_outside_the_pytest_section_of_pyproject_stands(tmp_path):
    task = in_repo_task(tmp_path)
    (task.repo_dir / "pyproject.toml").write_text("[project]\nname = 'calc'\n")
    work = agent_copy(task, tmp_path, calc=FIXED)
    (work / "pyproject.toml").write_text("[project]\nname = 'calc'\nversion = '2'\n")
    result = grade(task, work)
    assert result.resolved and "pyproject.toml" not in result.log.split("$ ")[0]


# --------------------------------------------------------------------------- parametrized tests

PARAM_TESTS = (
    "import pytest\nfrom calc import add\n\n\n@pytest.mark.parametrize('a', [{1, 2}, frozenset({3})])\n"
    "def test_add(a):\n    assert add(len(a), 1) == len(a) + 1\n"
)


def test_a_function_level_id_of_a_parametrized_test_passes_when_every_case_passes(tmp_path):
    repo = make_repo(tmp_path / "base")
    (repo / "tests" / "test_param.py").write_text(PARAM_TESTS)
    task = Task(instance_id="calc-3", problem_statement="add() subtracts", repo_dir=repo, test_patch="",
                FAIL_TO_PASS=["tests/test_param.py::test_add"], PASS_TO_PASS=["tests/test_calc.py::test_mul"],
                patch=diff("calc.py", BUGGY, FIXED), test_command=FAST)
    assert grade(task, agent_copy(task, tmp_path, calc=FIXED)).resolved
    assert not grade(task, task.repo_dir).resolved
    half = FIXED.replace("return a + b", "return a + b if a < 2 else a - b")  # one case passes, one fails
    assert grade(task, agent_copy(task, tmp_path / "half", calc=half)).fail_to_pass == {
        "tests/test_param.py::test_add": False}


def test_env_assignments_and_bytecode_setting_reach_the_tests(tmp_path):
    hidden = (
        "import os\n\n\ndef test_add():\n"
        "    assert os.environ['COMEM_MARK'] == 'on'\n"
        "    assert os.environ['PYTHONDONTWRITEBYTECODE'] == '1'\n\n\n"
        "def test_mul_zero():\n    pass\n"
    )
    task = make_task(
        tmp_path,
        test_patch=diff("tests/test_hidden.py", None, hidden),
        test_command="COMEM_MARK=on PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest",
    )
    assert grade(task, task.repo_dir).resolved


def test_the_tests_get_a_clean_environment_without_host_secrets(tmp_path, monkeypatch):
    """The hidden tests run the agent's code: a secret left in comem's environment must not reach it."""
    monkeypatch.setenv("MY_SERVICE_TOKEN", "s3cret")
    monkeypatch.setenv("PYTHONPATH", "/nowhere")
    hidden = (
        "import os\n\n\ndef test_add():\n"
        "    assert 'MY_SERVICE_TOKEN' not in os.environ and 's3cret' not in str(os.environ)\n"
        "    assert os.environ.get('PYTHONPATH') is None and os.path.isdir(os.environ['HOME'])\n\n\n"
        "def test_mul_zero():\n    pass\n"
    )
    task = make_task(tmp_path, test_patch=diff("tests/test_hidden.py", None, hidden))
    assert grade(task, task.repo_dir).resolved


def test_unusable_test_command_is_an_error(tmp_path):
    task = make_task(tmp_path, test_command=FAST + " --no-such-option")
    result = grade(task, task.repo_dir)
    assert not result.resolved
    assert result.error and "test command failed" in result.error
    assert "--no-such-option" in result.log


def test_missing_workdir_raises_comem_error(tmp_path):
    task = make_task(tmp_path)
    with pytest.raises(ComemError) as info:
        grade(task, tmp_path / "nope")
    assert info.value.fix


# --------------------------------------------------------------------------- timeouts


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()  # a zombie waiting to be reaped is dead
    except OSError:
        return True


def test_timeout_kills_the_test_process_group(tmp_path):
    pid_file = tmp_path / "pids.txt"
    hidden = (
        "import os, subprocess, time\n\n\n"
        "def test_add():\n"
        "    child = subprocess.Popen(['sleep', '120'])\n"
        f"    open({str(pid_file)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "    time.sleep(120)\n\n\n"
        "def test_mul_zero():\n    pass\n"
    )
    task = make_task(tmp_path, test_patch=diff("tests/test_hidden.py", None, hidden))
    result = grade(task, task.repo_dir, timeout_s=4)  # the hidden test sleeps 120 s: only the timeout ends it
    assert not result.resolved
    assert result.error and "timeout" in result.error
    assert result.fail_to_pass == {"tests/test_hidden.py::test_add": False}
    if not pid_file.exists():  # the machine was so slow that pytest never reached the test
        return
    pids = [int(p) for p in pid_file.read_text().split()]
    deadline = time.monotonic() + 5
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in pids), "pytest and its children must be killed on timeout"


# --------------------------------------------------------------------------- the test patch


def test_test_patch_that_does_not_apply(tmp_path):
    bad = diff("tests/test_calc.py", "this is not what the file contains\n", "something else\n")
    task = make_task(tmp_path, test_patch=bad)
    result = grade(task, task.repo_dir)
    assert not result.resolved
    assert result.error == "test_patch does not apply"
    assert not any(result.fail_to_pass.values())
    assert "test_calc.py" in result.log


def test_agent_edit_of_hidden_test_path_is_overwritten(tmp_path):
    task = make_task(tmp_path)
    work = agent_copy(task, tmp_path)  # still buggy
    # The agent "fixes" the bug by writing its own, passing version of the hidden test file.
    (work / "tests" / "test_hidden.py").write_text(
        "def test_add():\n    assert True\n\n\ndef test_mul_zero():\n    assert True\n"
    )
    result = grade(task, work)
    assert result.error is None, result.log
    assert result.fail_to_pass == {"tests/test_hidden.py::test_add": False}
    assert not result.resolved


def test_agent_edit_of_patched_visible_test_file_is_reset(tmp_path):
    extended = VISIBLE_TESTS + "\n\ndef test_add_hidden():\n    from calc import add\n    assert add(1, 1) == 2\n"
    task = make_task(
        tmp_path,
        test_patch=diff("tests/test_calc.py", VISIBLE_TESTS, extended),
        FAIL_TO_PASS=["tests/test_calc.py::test_add_hidden"],
        PASS_TO_PASS=["tests/test_calc.py::test_mul"],
    )
    work = agent_copy(task, tmp_path, calc=FIXED)
    # The agent rewrote the visible test file; the patch must still apply (to the base version).
    (work / "tests" / "test_calc.py").write_text("def test_mul():\n    assert False\n")
    result = grade(task, work)
    assert result.error is None, result.log
    assert result.resolved, result.log


def test_patch_paths():
    patch = diff("tests/test_new.py", None, "x = 1\n") + diff("pkg/mod.py", "a\n", "b\n")
    assert patch_paths(patch) == ["tests/test_new.py", "pkg/mod.py"]


# --------------------------------------------------------------------------- output parsing


def test_log_is_capped(tmp_path):
    hidden = "def test_add():\n    print('x' * 200_000)\n    assert False\n\n\ndef test_mul_zero():\n    pass\n"
    task = make_task(tmp_path, test_patch=diff("tests/test_hidden.py", None, hidden))
    result = grade(task, task.repo_dir)
    assert len(result.log) <= LOG_CAP + 100
    assert "short test summary info" in result.log  # the tail is what is kept


def test_parse_outcomes():
    output = "\n".join(
        [
            "PASSED tests/t.py::test_ok",
            "PASSED tests/t.py::test_p[a - b]",
            "FAILED tests/t.py::test_bad - AssertionError: x - y",
            "PASSED tests/t.py::test_teardown",
            "ERROR tests/t.py::test_teardown - RuntimeError",
            "XFAIL tests/t.py::test_xfail - reason",
            "SKIPPED [1] tests/t.py:12: skipped",
            "PASSED tests/t.py::test_not_requested",
        ]
    )
    wanted = [
        "tests/t.py::test_ok",
        "tests/t.py::test_p[a - b]",
        "tests/t.py::test_bad",
        "tests/t.py::test_teardown",
        "tests/t.py::test_xfail",
        "tests/t.py::test_skipped",
    ]
    assert _parse_outcomes(output, wanted) == {
        "tests/t.py::test_ok": True,
        "tests/t.py::test_p[a - b]": True,
        "tests/t.py::test_bad": False,
        "tests/t.py::test_teardown": False,
        "tests/t.py::test_xfail": True,
    }
