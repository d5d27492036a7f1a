"""Loading tasks: task dirs, single task dirs, SWE-bench-style JSONL, id filtering, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.tasks.task import Task, bundled_tasks_dir, load_tasks

TEST_PATCH = """\
diff --git a/tests/test_hidden.py b/tests/test_hidden.py
new file mode 100644
--- /dev/null
+++ b/tests/test_hidden.py
@@ -0,0 +1,2 @@
+def test_hidden():
+    assert True
"""

TASK_YAML = """\
instance_id: {iid}
difficulty: easy
problem_statement: |
  Something is broken.

  Expected it to work.
FAIL_TO_PASS:
  - tests/test_hidden.py::test_hidden
PASS_TO_PASS:
  - tests/test_a.py::test_a
  - tests/test_a.py::test_b
"""


def make_task_dir(parent: Path, iid: str, yaml_text: str | None = None, gold: bool = True) -> Path:
    d = parent / iid
    (d / "repo" / "tests").mkdir(parents=True)
    (d / "repo" / "tests" / "test_a.py").write_text("def test_a():\n    pass\n\n\ndef test_b():\n    pass\n")
    (d / "task.yaml").write_text(TASK_YAML.format(iid=iid) if yaml_text is None else yaml_text)
    (d / "test_patch.diff").write_text(TEST_PATCH)
    if gold:
        (d / "gold.patch").write_text("--- a/x.py\n+++ b/x.py\n")
    return d


def jsonl_row(iid: str, repo_dir: str, **overrides) -> dict:
    row = {
        "instance_id": iid,
        "repo": "example/project",  # extra SWE-bench columns are ignored
        "base_commit": "abc123",
        "problem_statement": "It breaks.",
        "FAIL_TO_PASS": json.dumps(["tests/test_hidden.py::test_hidden"]),
        "PASS_TO_PASS": json.dumps(["tests/test_a.py::test_a", "tests/test_a.py::test_b"]),
        "test_patch": TEST_PATCH,
        "patch": "",
        "repo_dir": repo_dir,
    }
    row.update(overrides)
    return row


def write_jsonl(path: Path, rows: list, raw_lines: list[str] | None = None) -> Path:
    lines = [json.dumps(r) for r in rows] + list(raw_lines or [])
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_comem_error(exc_info: pytest.ExceptionInfo[ComemError], *fragments: str) -> None:
    err = exc_info.value
    assert err.fix, "every ComemError must say how to fix it"
    text = str(err)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


# --------------------------------------------------------------------------- happy paths


def test_load_bundled_by_default():
    tasks = load_tasks()
    assert len(tasks) >= 12
    assert tasks == load_tasks(bundled_tasks_dir())
    assert all(isinstance(t, Task) and t.repo_dir.is_dir() for t in tasks)


def test_load_directory_of_task_dirs(tmp_path):
    make_task_dir(tmp_path, "beta-2")
    make_task_dir(tmp_path, "alpha-1", gold=False)
    (tmp_path / "notes").mkdir()  # a sub-directory without task.yaml is not a task
    tasks = load_tasks(tmp_path)
    assert [t.instance_id for t in tasks] == ["alpha-1", "beta-2"]
    alpha, beta = tasks
    assert alpha.problem_statement.startswith("Something is broken.\n")
    assert alpha.FAIL_TO_PASS == ["tests/test_hidden.py::test_hidden"]
    assert alpha.PASS_TO_PASS == ["tests/test_a.py::test_a", "tests/test_a.py::test_b"]
    assert alpha.test_patch == TEST_PATCH
    assert alpha.patch == "" and beta.patch.startswith("--- a/x.py")
    assert alpha.repo_dir == (tmp_path / "alpha-1" / "repo").resolve()
    assert alpha.difficulty == "easy"
    assert alpha.test_command == "python -m pytest"


def test_load_single_task_dir_as_str(tmp_path):
    d = make_task_dir(tmp_path, "solo")
    tasks = load_tasks(str(d))
    assert [t.instance_id for t in tasks] == ["solo"]


def test_instance_id_defaults_to_dir_name_and_extras(tmp_path):
    yaml_text = (
        "problem_statement: x\nFAIL_TO_PASS: '[\"tests/test_hidden.py::test_hidden\"]'\n"
        "PASS_TO_PASS: []\ntest_command: python -m pytest -x\nsome_future_field: 1\n"
    )
    d = make_task_dir(tmp_path, "from-dirname", yaml_text=yaml_text)
    (task,) = load_tasks(d)
    assert task.instance_id == "from-dirname"
    assert task.FAIL_TO_PASS == ["tests/test_hidden.py::test_hidden"]  # JSON-encoded string accepted
    assert task.difficulty is None
    assert task.test_command == "python -m pytest -x"


def test_load_jsonl(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "repos" / "r1").mkdir(parents=True)
    absolute = tmp_path / "elsewhere"
    absolute.mkdir()
    rows = [
        jsonl_row("proj__1", "repos/r1"),
        jsonl_row(
            "proj__2",
            str(absolute),
            FAIL_TO_PASS=["tests/test_x.py::test_x"],
            PASS_TO_PASS=[],
            difficulty="hard",
        ),
    ]
    path = write_jsonl(data / "tasks.jsonl", rows, raw_lines=["", "   "])
    t1, t2 = load_tasks(path)
    assert t1.instance_id == "proj__1"
    assert t1.repo_dir == (data / "repos" / "r1").resolve()  # relative to the JSONL's folder
    assert t1.FAIL_TO_PASS == ["tests/test_hidden.py::test_hidden"]
    assert t1.PASS_TO_PASS == ["tests/test_a.py::test_a", "tests/test_a.py::test_b"]
    assert t2.repo_dir == absolute
    assert t2.FAIL_TO_PASS == ["tests/test_x.py::test_x"] and t2.PASS_TO_PASS == []
    assert t2.difficulty == "hard"


def test_ids_filter(tmp_path):
    for iid in ("a", "b", "c"):
        make_task_dir(tmp_path, iid)
    assert [t.instance_id for t in load_tasks(tmp_path, ids=["c", "a"])] == ["c", "a"]
    assert [t.instance_id for t in load_tasks(tmp_path, ids=["b", "b"])] == ["b"]
    assert load_tasks(tmp_path, ids=[]) == []


def test_ids_filter_on_bundled():
    first = load_tasks()[0]
    assert load_tasks(ids=[first.instance_id]) == [first]


# --------------------------------------------------------------------------- bad input


def test_unknown_id_names_available_ids(tmp_path):
    make_task_dir(tmp_path, "alpha")
    make_task_dir(tmp_path, "beta")
    with pytest.raises(ComemError) as info:
        load_tasks(tmp_path, ids=["alpha", "gamma"])
    assert_comem_error(info, "'gamma'", "alpha, beta")
    assert "alpha'" not in info.value.message.split("Available")[0]


def test_missing_source(tmp_path):
    with pytest.raises(ComemError) as info:
        load_tasks(tmp_path / "nope")
    assert_comem_error(info, str(tmp_path / "nope"))


def test_non_jsonl_file(tmp_path):
    f = tmp_path / "tasks.csv"
    f.write_text("a,b\n")
    with pytest.raises(ComemError) as info:
        load_tasks(f)
    assert_comem_error(info, "tasks.csv", ".jsonl")


def test_directory_without_tasks(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComemError) as info:
        load_tasks(tmp_path)
    assert_comem_error(info, "No tasks found", "task.yaml")


def test_malformed_yaml(tmp_path):
    d = make_task_dir(tmp_path, "bad", yaml_text="instance_id: bad\nproblem_statement: [unclosed\n")
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, str(d / "task.yaml"), "not valid YAML")


def test_yaml_not_a_mapping(tmp_path):
    d = make_task_dir(tmp_path, "bad", yaml_text="- just\n- a list\n")
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, str(d / "task.yaml"), "mapping")


def test_missing_field_in_yaml(tmp_path):
    yaml_text = TASK_YAML.format(iid="bad").replace(
        "problem_statement: |\n  Something is broken.\n\n  Expected it to work.\n", ""
    )
    d = make_task_dir(tmp_path, "bad", yaml_text=yaml_text)
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, str(d / "task.yaml"), "problem_statement")
    assert "problem_statement" in info.value.fix


def test_wrong_field_type_in_yaml(tmp_path):
    yaml_text = TASK_YAML.format(iid="bad").replace("difficulty: easy", "difficulty: impossible")
    d = make_task_dir(tmp_path, "bad", yaml_text=yaml_text)
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, str(d / "task.yaml"), "difficulty")
    assert "ValidationError" not in str(info.value)


def test_f2p_not_a_list(tmp_path):
    yaml_text = TASK_YAML.format(iid="bad").replace(
        "FAIL_TO_PASS:\n  - tests/test_hidden.py::test_hidden", "FAIL_TO_PASS: not json ["
    )
    d = make_task_dir(tmp_path, "bad", yaml_text=yaml_text)
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, "FAIL_TO_PASS")


def test_missing_test_patch_file(tmp_path):
    d = make_task_dir(tmp_path, "bad")
    (d / "test_patch.diff").unlink()
    with pytest.raises(ComemError) as info:
        load_tasks(d)
    assert_comem_error(info, "test_patch.diff", str(d))


def test_missing_repo_dir(tmp_path):
    d = make_task_dir(tmp_path, "bad")
    (d / "repo" / "tests" / "test_a.py").unlink()
    (d / "repo" / "tests").rmdir()
    (d / "repo").rmdir()
    with pytest.raises(ComemError) as info:
        load_tasks(tmp_path)
    assert_comem_error(info, str(d / "repo"))


def test_duplicate_ids(tmp_path):
    make_task_dir(tmp_path, "one")
    make_task_dir(tmp_path, "two", yaml_text=TASK_YAML.format(iid="one"))
    with pytest.raises(ComemError) as info:
        load_tasks(tmp_path)
    assert_comem_error(info, "Duplicate instance_id 'one'")


def test_jsonl_malformed_line(tmp_path):
    (tmp_path / "r").mkdir()
    path = write_jsonl(tmp_path / "t.jsonl", [jsonl_row("ok", "r")], raw_lines=['{"instance_id": "broken",'])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:2", "not valid JSON")


def test_jsonl_line_not_an_object(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [], raw_lines=["[1, 2]"])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:1", "JSON object")


def test_jsonl_missing_field(tmp_path):
    (tmp_path / "r").mkdir()
    row = jsonl_row("x", "r")
    del row["test_patch"]
    path = write_jsonl(tmp_path / "t.jsonl", [row])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:1", "test_patch")


def test_jsonl_missing_repo_dir_field(tmp_path):
    row = jsonl_row("x", "")
    path = write_jsonl(tmp_path / "t.jsonl", [row])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:1", "repo_dir")


def test_jsonl_repo_dir_does_not_exist(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [jsonl_row("x", "no/such/dir")])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:1", str(tmp_path / "no" / "such" / "dir"))


def test_jsonl_bad_json_encoded_list(tmp_path):
    (tmp_path / "r").mkdir()
    path = write_jsonl(tmp_path / "t.jsonl", [jsonl_row("x", "r", PASS_TO_PASS="[oops")])
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, f"{path}:1", "PASS_TO_PASS")


def test_empty_jsonl(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("\n")
    with pytest.raises(ComemError) as info:
        load_tasks(path)
    assert_comem_error(info, "no tasks")
