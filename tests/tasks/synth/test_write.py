"""Task dirs on disk: the diffs apply with git, the layout loads, hidden tests leave repo/."""

from __future__ import annotations

from pathlib import Path

from comem.tasks.synth.write import TaskFiles, modify_diff, new_file_diff, write_task
from comem.tasks.task import load_tasks
from tests.tasks.synth.helpers import git_apply


def test_diffs_apply_with_git_including_odd_line_endings(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    old = "a = 1\nb = '\x0c'\nc = 3"  # a form feed inside a line, no newline at the end
    new = "a = 1\nb = '\x0c'\nc = 4"
    (repo / "m.py").write_text(old, newline="")
    git_apply(modify_diff("m.py", old, new), repo)
    assert (repo / "m.py").read_bytes().decode() == new
    git_apply(new_file_diff("tests/test_m.py", "def test():\n    pass"), repo)
    assert (repo / "tests/test_m.py").read_text() == "def test():\n    pass"


def test_write_task_hides_the_failing_test_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "tests").mkdir(parents=True)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"stale")
    (source / "m.py").write_text("def f():\n    return 1\n")
    (source / "tests" / "test_f.py").write_text("from m import f\n\n\ndef test_f():\n    assert f() == 1\n")
    (source / "tests" / "test_other.py").write_text("def test_other():\n    pass\n")
    files = TaskFiles(
        instance_id="m-1", problem_statement="`m.f` returns a wrong result\n\nCalling `m.f()` returns `2`.\n",
        fail_to_pass=["tests/test_f.py::test_f"], pass_to_pass=[], test_command="python -m pytest",
        mutated_path="m.py", original="def f():\n    return 1\n", mutated="def f():\n    return 2\n",
        hidden_tests=["tests/test_f.py"], provenance={"operator": "off_by_one"},
    )
    task_dir = write_task(tmp_path / "out", source, files)
    (task,) = load_tasks(tmp_path / "out")
    assert task.instance_id == "m-1" and task.problem_statement == files.problem_statement
    assert task.FAIL_TO_PASS == ["tests/test_f.py::test_f"] and task.PASS_TO_PASS == []
    assert (task.repo_dir / "m.py").read_text() == files.mutated
    assert not (task.repo_dir / "tests/test_f.py").exists() and (task.repo_dir / "tests/test_other.py").exists()
    assert not (task.repo_dir / "__pycache__").exists()
    assert "problem_statement: |" in (task_dir / "task.yaml").read_text()  # readable block, not an escaped string
    git_apply(task.test_patch, task.repo_dir)
    git_apply(task.patch, task.repo_dir)
    assert (task.repo_dir / "m.py").read_text() == files.original
    assert (task.repo_dir / "tests/test_f.py").read_text() == (source / "tests/test_f.py").read_text()
    # writing again replaces the task dir instead of mixing old and new files
    write_task(tmp_path / "out", source, files)
    assert not (tmp_path / "out" / "m-1" / "repo" / "tests" / "test_f.py").exists()
