"""SWE-bench tasks: loading rows in SWE-bench's formats, image names, the harness, and grading by the official
harness. Loading, naming, predictions and report reading need nothing; the harness's episode and the real
`swebench.harness.run_evaluation` need a Docker engine and the `swebench` package (in this interpreter, or the one
named by COMEM_SWEBENCH_PYTHON), else they skip."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from comem.agent.loop import Outcome
from comem.core.errors import ComemError
from comem.core.records import ToolCall
from comem.environment.docker_env import DockerSettings, connect
from comem.tasks.harness import Verdict, harness_for
from comem.tasks.sources import load_source
from comem.tasks.swebench import SWEBenchHarness, load_swebench
from comem.tasks.swebench_grade import (
    GradingSettings,
    Prediction,
    check_rows,
    evaluation_command,
    grade_patches,
    harness_version,
    read_verdicts,
    write_jsonl,
)
from comem.tasks.swebench_task import ImageNaming, SWEBenchTask, instance_image
from tests.environment.docker_helpers import mini_image
from tests.extras import needs, requires

# Two rows as SWE-bench's files hold them: test lists JSON-encoded, version a string (patches shortened).
ASTROPY = {
    "repo": "astropy/astropy", "instance_id": "astropy__astropy-12907",
    "base_commit": "d16bfe05a744909de4b27f5875fe0d4ed41ce607",
    "patch": "diff --git a/astropy/modeling/separable.py b/astropy/modeling/separable.py\n"
             "--- a/astropy/modeling/separable.py\n+++ b/astropy/modeling/separable.py\n"
             "@@ -242,7 +242,7 @@ def _cstack(left, right):\n         cright = _coord_matrix(right, 'right', noutp)\n"
             "     else:\n         cright = np.zeros((noutp, right.shape[1]))\n-        cright[-right.shape[0]:, "
             "-right.shape[1]:] = 1\n+        cright[-right.shape[0]:, -right.shape[1]:] = right\n \n"
             "     return np.hstack([cleft, cright])\n \n",
    "test_patch": "diff --git a/astropy/modeling/tests/test_separable.py b/astropy/modeling/tests/test_separable.py\n",
    "problem_statement": "Modeling's `separability_matrix` does not compute separability correctly for nested "
                         "CompoundModels\n",
    "hints_text": "", "created_at": "2022-03-03T15:14:54Z", "version": "4.3",
    "FAIL_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]", '
                    '"astropy/modeling/tests/test_separable.py::test_separable[compound_model9-result9]"]',
    "PASS_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_coord_matrix", '
                    '"astropy/modeling/tests/test_separable.py::test_cdot"]',
    "environment_setup_commit": "298ccb478e6bf092953bca67a3d29dc6c35f6752",
}
DJANGO = {
    "repo": "django/django", "instance_id": "django__django-11099",
    "base_commit": "d26b2424437dabeeca94d7900b37d2df4410da0c",
    "patch": "diff --git a/django/contrib/auth/validators.py b/django/contrib/auth/validators.py\n",
    "test_patch": "diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py\n",
    "problem_statement": "UsernameValidator allows trailing newline in usernames\n",
    "hints_text": "", "created_at": "2019-03-20T03:46:18Z", "version": "3.0",
    "FAIL_TO_PASS": '["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)", '
                    '"test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)"]',
    "PASS_TO_PASS": '["test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)"]',
    "environment_setup_commit": "419a78300f7cd27611196e1e464d50fd0385ff27",
}
ROWS = [ASTROPY, DJANGO]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# ---------------------------------------------------------------------------------------------- loading


def test_jsonl_rows_become_tasks_named_by_the_harness_rule(tmp_path: Path) -> None:
    astropy, django = load_swebench(write_rows(tmp_path / "verified.jsonl", ROWS))
    assert astropy.FAIL_TO_PASS == ["astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]",
                                    "astropy/modeling/tests/test_separable.py::test_separable[compound_model9-result9]"]
    assert django.PASS_TO_PASS == ["test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)"]
    assert (astropy.version, astropy.environment_setup_commit) == ("4.3", ASTROPY["environment_setup_commit"])
    assert astropy.image == "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest"
    assert django.image == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    row = django.row()  # what the official harness is given back: every column, extra ones included
    assert row["created_at"] == DJANGO["created_at"] and row["FAIL_TO_PASS"] == json.loads(DJANGO["FAIL_TO_PASS"])
    assert harness_for(django).__class__ is SWEBenchHarness


def test_parquet_and_json_files_load_like_jsonl(tmp_path: Path) -> None:
    pa, pq = requires("pyarrow", "eval"), requires("pyarrow.parquet", "eval")
    table = pa.Table.from_pylist(ROWS)  # SWE-bench's parquet: the same columns, test lists as JSON strings
    pq.write_table(table, tmp_path / "test-00000-of-00001.parquet")
    (tmp_path / "rows.json").write_text(json.dumps(ROWS))
    expected = load_swebench(write_rows(tmp_path / "rows.jsonl", ROWS))
    assert load_swebench(tmp_path / "test-00000-of-00001.parquet") == expected
    assert load_swebench(str(tmp_path / "rows.json")) == expected


@pytest.mark.parametrize(("instance_id", "naming", "image"), [
    ("django__django-11099", None, "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"),
    ("django__django-11099", ImageNaming(namespace=None), "sweb.eval.x86_64.django__django-11099:latest"),
    ("sympy__sympy-20590", ImageNaming(namespace="registry.example.com:5000/mirror", tag="v2"),
     "registry.example.com:5000/mirror/sweb.eval.x86_64.sympy_1776_sympy-20590:v2"),
    ("pydata__xarray-4094", ImageNaming(arch="arm64"), "swebench/sweb.eval.arm64.pydata_1776_xarray-4094:latest"),
    ("Project-MONAI__MONAI-5093", None, "swebench/sweb.eval.x86_64.project-monai_1776_monai-5093:latest"),
])
def test_image_names(instance_id: str, naming: ImageNaming | None, image: str) -> None:
    assert instance_image(instance_id, naming) == image


def test_a_rows_own_image_is_kept_unless_a_naming_is_given(tmp_path: Path) -> None:
    r2e = {**DJANGO, "instance_id": "django__django-1", "docker_image": "namanjain12/django_final:d26b242"}
    v5 = {**ASTROPY, "image": "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:v5"}
    path = write_rows(tmp_path / "rows.jsonl", [r2e, v5])
    assert [t.image for t in load_swebench(path)] == [r2e["docker_image"], v5["image"]]
    local = ImageNaming(namespace=None)
    assert [t.image for t in load_swebench(path, images=local)] == [
        "sweb.eval.x86_64.django__django-1:latest", "sweb.eval.x86_64.astropy__astropy-12907:latest"]


def test_ids_select_and_order_instances(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "rows.jsonl", ROWS)
    assert [t.instance_id for t in load_swebench(path, ["django__django-11099"])] == ["django__django-11099"]
    with pytest.raises(ComemError, match="Unknown task id.*'django__django-1'.*Available ids: astropy"):
        load_swebench(path, ["django__django-1"])


@pytest.mark.parametrize(("content", "message"), [
    ('{"instance_id": "a"}\n{not json', r"rows.jsonl:2: not valid JSON"),
    ('["a"]\n', r"row 1: expected an object"),
    (json.dumps({**DJANGO, "base_commit": ""}) + "\n", r"row 1: missing required field\(s\): base_commit"),
    (json.dumps({**DJANGO, "FAIL_TO_PASS": "[unquoted]"}) + "\n", r"django__django-11099\): invalid instance"),
    (json.dumps({**DJANGO, "PASS_TO_PASS": [1, 2]}) + "\n", r"invalid instance: PASS_TO_PASS.0"),
    (json.dumps(DJANGO) + "\n" + json.dumps(DJANGO) + "\n", r"Duplicate instance_id 'django__django-11099'"),
    ("\n", r"holds no SWE-bench instances"),
])
def test_bad_rows_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "rows.jsonl").write_text(content)
    with pytest.raises(ComemError, match=message):
        load_swebench(tmp_path / "rows.jsonl")


def test_bad_sources_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist"):
        load_swebench(tmp_path / "missing.parquet")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ComemError, match="is not a SWE-bench instance file"):
        load_swebench(tmp_path / "notes.txt")
    (tmp_path / "object.json").write_text("{}")
    with pytest.raises(ComemError, match="expected a JSON list"):
        load_swebench(tmp_path / "object.json")


@needs("pyarrow", extra="eval")
def test_a_broken_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(ComemError, match="is not a readable parquet file"):
        load_swebench(tmp_path / "broken.parquet")


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an uninstalled package looks like to import
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "rows.parquet").write_bytes(b"PAR1")
    with pytest.raises(ComemError, match="needs the Python package `pyarrow`") as caught:
        load_swebench(tmp_path / "rows.parquet")
    assert "comem[eval]" in caught.value.fix


@needs("datasets")
def test_a_dataset_name_offline_is_one_clear_error() -> None:
    """A fresh interpreter, as `datasets` reads its offline switch on import (the timeout only guards a hang)."""
    code = ("from comem.tasks.swebench import load_swebench\n"
            "try:\n    load_swebench('SWE-bench/SWE-bench_Verified')\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.stdout.startswith("ComemError Could not load the Hugging Face dataset 'SWE-bench/SWE-bench_Verified'")
    assert "pass a local file in SWE-bench's format instead (swebench:PATH.jsonl" in done.stdout


def test_the_swebench_source_of_comem_eval(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "rows.jsonl", ROWS)
    assert [t.image for t in load_source(f"swebench:{path}?namespace=none&tag=dev")] == [
        "sweb.eval.x86_64.astropy__astropy-12907:dev", "sweb.eval.x86_64.django__django-11099:dev"]
    assert load_source(f"swebench:{path}") == load_swebench(path)
    with pytest.raises(ComemError, match="Bad swebench task source"):
        load_source(f"swebench:{path}?namspace=none")
    with pytest.raises(ComemError, match="Bad image option"):
        load_source(f"swebench:{path}?arch=mips")


# ---------------------------------------------------------------------------------------------- grading, offline


def test_predictions_and_instances_are_written_as_the_harness_reads_them(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "preds.jsonl", [
        Prediction(instance_id="django__django-11099", model_name_or_path="comem/kso", model_patch="diff --git a/x"),
        Prediction(instance_id="astropy__astropy-12907", model_name_or_path="comem/kso", model_patch="")])
    assert path.read_text().splitlines() == [
        '{"instance_id": "django__django-11099", "model_name_or_path": "comem/kso", "model_patch": "diff --git a/x"}',
        '{"instance_id": "astropy__astropy-12907", "model_name_or_path": "comem/kso", "model_patch": ""}']
    tasks = load_swebench(write_rows(tmp_path / "rows.jsonl", ROWS))
    rows = [json.loads(line) for line in write_jsonl(tmp_path / "d.jsonl", (t.row() for t in tasks)).open()]
    assert load_swebench(write_rows(tmp_path / "again.jsonl", rows)) == tasks


def test_the_evaluation_command() -> None:
    settings = GradingSettings(python="/envs/swe/bin/python", max_workers=8, timeout_s=900)
    assert evaluation_command(settings, Path("/r/instances.jsonl"), Path("/r/predictions.jsonl"), "run-1",
                              Path("/r")) == [
        "/envs/swe/bin/python", "-m", "swebench.harness.run_evaluation", "--dataset_name", "/r/instances.jsonl",
        "--predictions_path", "/r/predictions.jsonl", "--run_id", "run-1", "--max_workers", "8",
        "--timeout", "900", "--report_dir", "/r"]


def write_reports(work: Path, run_id: str, model: str) -> Path:
    """A finished run as swebench 5 leaves it: per-instance report.json and logs, and the run summary."""
    logs = work / "logs" / "run_evaluation" / run_id / model.replace("/", "__")
    for iid, resolved, f2p_failed in [("django__django-11099", True, []),
                                      ("astropy__astropy-12907", False, ["t::b"])]:
        (logs / iid).mkdir(parents=True)
        (logs / iid / "report.json").write_text(json.dumps({iid: {
            "patch_is_None": False, "patch_exists": True, "patch_successfully_applied": True, "resolved": resolved,
            "infra_failure": False, "tests_status": {
                "FAIL_TO_PASS": {"success": ["t::a"] if resolved else [], "failure": f2p_failed},
                "PASS_TO_PASS": {"success": ["t::c"], "failure": []},
                "FAIL_TO_FAIL": {"success": [], "failure": []}, "PASS_TO_FAIL": {"success": [], "failure": []}}}},
            indent=4))
    (logs / "sympy__sympy-20590").mkdir()
    (logs / "sympy__sympy-20590" / "run_instance.log").write_text(
        "2026-01-01 00:00:00,000 - INFO - >>>>> Patch Apply Failed:\npatching file sympy/core/expr.py\n")
    summary = {"total_instances": 5, "submitted_instances": 4, "completed_instances": 2, "resolved_instances": 1,
               "unresolved_instances": 1, "infra_failure_instances": 0, "ambiguous_failure_instances": 0,
               "empty_patch_instances": 1, "error_instances": 1,
               "completed_ids": ["astropy__astropy-12907", "django__django-11099"], "incomplete_ids": ["x__y-1"],
               "empty_patch_ids": ["pydata__xarray-4094"], "submitted_ids": [],
               "resolved_ids": ["django__django-11099"],
               "unresolved_ids": ["astropy__astropy-12907"], "infra_failure_ids": [], "ambiguous_failure_ids": [],
               "failure_reasons": {}, "error_ids": ["sympy__sympy-20590"], "schema_version": 2}
    report_dir = work / "runs" / run_id
    report_dir.mkdir(parents=True)
    (report_dir / f"{model.replace('/', '__')}.{run_id}.json").write_text(json.dumps(summary, indent=4))
    return report_dir


def test_official_reports_become_verdicts(tmp_path: Path) -> None:
    report_dir = write_reports(tmp_path, "run-1", "comem/kso")
    ids = ["django__django-11099", "astropy__astropy-12907", "pydata__xarray-4094", "sympy__sympy-20590", "x__y-1"]
    verdicts = read_verdicts(tmp_path, report_dir, "run-1", "comem/kso", ids)
    logs = tmp_path / "logs" / "run_evaluation" / "run-1" / "comem__kso"
    assert verdicts["django__django-11099"] == Verdict(resolved=True, detail={
        "log_dir": str(logs / "django__django-11099"), "fail_to_pass": {"t::a": True},
        "pass_to_pass": {"t::c": True}, "patch_applied": True})
    assert verdicts["astropy__astropy-12907"].resolved is False
    assert verdicts["astropy__astropy-12907"].detail["fail_to_pass"] == {"t::b": False}
    assert verdicts["pydata__xarray-4094"] == Verdict(resolved=False, detail={
        "log_dir": str(logs / "pydata__xarray-4094"), "empty_patch": True})
    error = verdicts["sympy__sympy-20590"]
    assert error.resolved is False and error.error is not None and error.error.startswith("the patch does not apply")
    assert verdicts["x__y-1"].resolved is None and "did not evaluate" in (verdicts["x__y-1"].error or "")
    missing = read_verdicts(tmp_path, tmp_path / "elsewhere", "run-1", "comem/kso", ["django__django-11099"])
    assert missing["django__django-11099"].resolved is None and "wrote no run report" in missing[
        "django__django-11099"].error


def test_grading_without_swebench_names_the_install(tmp_path: Path) -> None:
    bare = tmp_path / "python"  # a real interpreter that sees no site-packages, so no swebench
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S -E "$@"\n')
    bare.chmod(0o755)
    tasks = load_swebench(write_rows(tmp_path / "rows.jsonl", ROWS))
    with pytest.raises(ComemError, match="needs the official harness") as caught:
        grade_patches(tasks, {}, GradingSettings(python=str(bare), work_dir=tmp_path))
    assert caught.value.fix.startswith("pip install swebench")
    with pytest.raises(ComemError, match="Could not run /no/python"):
        harness_version("/no/python")


def test_swebench_5_needs_the_rows_eval_columns(tmp_path: Path) -> None:
    tasks = load_swebench(write_rows(tmp_path / "rows.jsonl", ROWS))
    check_rows(tasks, "4.1.0")  # older harnesses derive the eval script themselves
    with pytest.raises(ComemError, match="django__django-11099 has no eval_script, log_parser, eval_type"):
        check_rows(tasks[1:], "5.0.2")


# ---------------------------------------------------------------------------------------------- real harness

SWEBENCH_PYTHON = os.environ.get("COMEM_SWEBENCH_PYTHON", sys.executable)
TEST_PATCH = "\n".join([  # context lines start with a space, kept visible here
    "diff --git a/tests/test_mod.py b/tests/test_mod.py", "--- a/tests/test_mod.py", "+++ b/tests/test_mod.py",
    "@@ -1,5 +1,9 @@", "-from pkg.mod import sub", "+from pkg.mod import add, sub", " ", " ", " def test_sub():",
    "     assert sub(3, 1) == 2", "+", "+", "+def test_add():", "+    assert add(2, 3) == 5", ""])
EVAL_SCRIPT = f"""\
#!/bin/bash
set -uxo pipefail
cd /testbed
git apply -v - <<'EOF_114329324912'
{TEST_PATCH}
EOF_114329324912
: '>>>>> Start Test Output'
python3 -m pytest -rA -p no:cacheprovider tests/test_mod.py
: '>>>>> End Test Output'
"""


def swebench_version() -> str:
    try:
        return harness_version(SWEBENCH_PYTHON)
    except ComemError as error:
        pytest.skip(f"{error.message} (set COMEM_SWEBENCH_PYTHON to an interpreter with swebench)")


def mini_tasks(tmp_path: Path, count: int) -> list[SWEBenchTask]:
    """SWE-bench 5 rows for the mini image, each instance under its own image name as the harness expects."""
    image = mini_image()
    client = connect()
    rows = []
    for number in range(1, count + 1):
        iid = f"comem__mini-{number}"
        name = instance_image(iid, ImageNaming(namespace=None))
        client.images.get(image).tag(*name.split(":"))
        rows.append({"instance_id": iid, "repo": "comem/mini", "base_commit": "HEAD", "version": "0.1",
                     "problem_statement": "`add(2, 3)` returns -1: add subtracts.", "test_patch": TEST_PATCH,
                     "FAIL_TO_PASS": ["tests/test_mod.py::test_add"], "PASS_TO_PASS": ["tests/test_mod.py::test_sub"],
                     "image": name, "eval_script": EVAL_SCRIPT, "log_parser": "parse_log_pytest",
                     "eval_type": "pass_and_fail"})
    client.close()
    return load_swebench(write_rows(tmp_path / "mini.jsonl", rows))


def test_image_names_match_the_installed_harness() -> None:
    swebench_version()
    cases = [("django__django-11099", "swebench", "latest", "x86_64"),
             ("django__django-11099", None, "latest", "x86_64"),
             ("Project-MONAI__MONAI-5093", "ghcr.io/acme", "v1", "arm64")]
    code = ("import json, sys\nfrom swebench.image_builder.image_spec import ImageSpec\n"
            "print(json.dumps([ImageSpec(instance_id=i, dockerfile='FROM x', namespace=n, tag=t, "
            "arch='amd64' if a == 'x86_64' else a).name for i, n, t, a in json.loads(sys.argv[1])]))")
    done = subprocess.run([SWEBENCH_PYTHON, "-c", code, json.dumps(cases)], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == [instance_image(i, ImageNaming(namespace=n, tag=t, arch=a))
                                       for i, n, t, a in cases]


def test_the_harness_opens_the_instance_image_and_prompts_from_its_files(tmp_path: Path) -> None:
    (task,) = mini_tasks(tmp_path, 1)
    harness = harness_for(task)
    assert isinstance(harness, SWEBenchHarness)
    with pytest.raises(ComemError, match="Activating the environment in .* failed"):  # not a conda image
        harness.open(task, bash_timeout_s=30)
    with SWEBenchHarness(DockerSettings(activate=None)).open(task, bash_timeout_s=30) as env:
        pinned = harness.pinned(task, env)
    assert "`add(2, 3)` returns -1" in pinned.task and "pkg/mod.py\nsetup.log\ntests/test_mod.py" in pinned.task
    assert '"path": "pkg/mod.py"' in pinned.system  # the examples are made of the container's files


@pytest.mark.slow
def test_an_episode_graded_by_the_official_harness(tmp_path: Path) -> None:
    swebench_version()
    (task,) = mini_tasks(tmp_path, 1)
    harness = SWEBenchHarness(DockerSettings(activate=None), GradingSettings(python=SWEBENCH_PYTHON, max_workers=1,
                                                                             work_dir=tmp_path / "grading"))
    with harness.open(task, bash_timeout_s=30) as env:
        edit = ToolCall(name="file_editor", arguments={"command": "str_replace", "path": "pkg/mod.py",
                                                       "old_str": "return a - b\n\n\ndef sub",
                                                       "new_str": "return a + b\n\n\ndef sub"})
        assert asyncio.run(env.execute(edit)).exit_code == 0
        verdict = asyncio.run(harness.grade(task, env, Outcome(exit_reason="submitted")))
    assert verdict.resolved is True, verdict
    assert verdict.detail["fail_to_pass"] == {"tests/test_mod.py::test_add": True}
    assert verdict.detail["pass_to_pass"] == {"tests/test_mod.py::test_sub": True}


@pytest.mark.slow
def test_a_batch_graded_by_the_official_harness(tmp_path: Path) -> None:
    swebench_version()
    fixed, wrong, empty, broken = mini_tasks(tmp_path, 4)
    gold = ("diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,5 +1,5 @@\n"
            " def add(a, b):\n-    return a - b\n+    return a + b\n \n \n def sub(a, b):\n")
    patches = {fixed.instance_id: gold, wrong.instance_id: gold.replace("a + b", "a * b"),
               broken.instance_id: gold.replace("return a - b", "return b - a")}
    verdicts = grade_patches([fixed, wrong, empty, broken], patches,
                             GradingSettings(python=SWEBENCH_PYTHON, max_workers=2, work_dir=tmp_path))
    assert verdicts[fixed.instance_id].resolved is True
    assert verdicts[wrong.instance_id].resolved is False
    assert verdicts[wrong.instance_id].detail["fail_to_pass"] == {"tests/test_mod.py::test_add": False}
    assert verdicts[empty.instance_id] == Verdict(resolved=False, detail={
        "log_dir": verdicts[empty.instance_id].detail["log_dir"], "empty_patch": True})
    assert verdicts[broken.instance_id].resolved is False
    assert (verdicts[broken.instance_id].error or "").startswith("the patch does not apply")
