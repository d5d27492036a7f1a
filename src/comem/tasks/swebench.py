"""SWE-bench instances as CoMem tasks: the loader, the task model, and the harness that runs them in Docker.

Rows come from a .jsonl, .json or .parquet file in SWE-bench's own format, or from a Hugging Face dataset by
name (online only). Each task runs in its instance image: the row's own `image` (SWE-bench >= 5 datasets name
it; R2E-Gym rows call it `docker_image`), else the name the official harness gives it (see `instance_image`).
Importing this module registers the harness for `SWEBenchTask` (a Docker environment, the repository prompts,
grading by the official harness) and the `swebench:` task source of `comem eval`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pydantic

from comem.agent.loop import Outcome
from comem.context.base import Pinned
from comem.core.errors import ComemError
from comem.environment.base import Environment
from comem.environment.docker_env import DockerSettings
from comem.tasks.harness import Verdict, register_harness
from comem.tasks.swebench_grade import GradingSettings, grade_patches
from comem.tasks.swebench_task import ImageNaming, SWEBenchTask, instance_image
from comem.tasks.task import _check_unique, _filter

SUFFIXES = (".jsonl", ".json", ".parquet")
_REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")
_LOCAL_FILE_FIX = ("pass a local file in SWE-bench's format instead (swebench:PATH.jsonl, .json or .parquet; "
                   "download the dataset's parquet where you are online).")














def load_swebench(source: str | Path, ids: list[str] | None = None, *, split: str = "test",
                  images: ImageNaming | None = None) -> list[SWEBenchTask]:
    """Instances from a .jsonl/.json/.parquet file or a Hugging Face dataset name (`split` applies to names).

    `images=None` keeps each row's own image name and names the others by the default rule; given, it names
    every image (a mirror registry, images built locally). Bad rows, duplicate and unknown ids are ComemErrors.
    """
    rows, where = _rows(source, split)
    if not rows:
        raise ComemError(f"{where} holds no SWE-bench instances.", fix="check the file or the dataset split.")
    tasks = [_task(row, f"{where} row {number}", images) for number, row in enumerate(rows, start=1)]
    _check_unique(tasks, where)  # type: ignore[arg-type]
    return tasks if ids is None else _filter(tasks, ids, where)  # type: ignore[arg-type,return-value]


def _task(row: Any, where: str, images: ImageNaming | None) -> SWEBenchTask:
    if not isinstance(row, dict):
        raise ComemError(f"{where}: expected an object with SWE-bench's fields, got {type(row).__name__}.",
                         fix="write one JSON object per instance.")
    missing = [key for key in _REQUIRED if not row.get(key)]
    if missing:
        raise ComemError(f"{where}: missing required field(s): {', '.join(missing)}.",
                         fix=f"give every instance {', '.join(_REQUIRED)} (SWE-bench's format).")
    try:
        task = SWEBenchTask.model_validate(row)
    except (pydantic.ValidationError, ValueError) as error:
        problems = ("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                    if isinstance(error, pydantic.ValidationError) else str(error))
        raise ComemError(f"{where} ({row.get('instance_id')}): invalid instance: {problems}.",
                         fix="FAIL_TO_PASS/PASS_TO_PASS must be lists of test ids or JSON-encoded lists, "
                             "the other fields strings.") from None
    if images is not None or not task.image:
        task.image = instance_image(task.instance_id, images)
    return task


def _rows(source: str | Path, split: str) -> tuple[list[Any], Path]:
    path = Path(source).expanduser()
    if path.suffix in SUFFIXES:
        if not path.is_file():
            raise ComemError(f"SWE-bench file {path} does not exist.", fix="check the path.")
        reader = {".jsonl": _read_jsonl, ".json": _read_json, ".parquet": _read_parquet}[path.suffix]
        return reader(path), path
    if path.exists():
        raise ComemError(f"{path} is not a SWE-bench instance file.",
                         fix="pass a .jsonl, .json or .parquet file in SWE-bench's format, or a dataset name.")
    return _read_hub(str(source), split), Path(f"{source}[{split}]")


def _read_jsonl(path: Path) -> list[Any]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ComemError(f"{path}:{number}: not valid JSON ({error.msg} at column {error.colno}).",
                                 fix="write one JSON object per line (JSON Lines).") from None
    return rows


def _read_json(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ComemError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}).",
                         fix="write a JSON list of instance objects.") from None
    if not isinstance(data, list):
        raise ComemError(f"{path}: expected a JSON list of instances, got {type(data).__name__}.",
                         fix="write a JSON list of instance objects, or JSON Lines (.jsonl).")
    return data


def _read_parquet(path: Path) -> list[Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ComemError("Reading parquet needs the Python package `pyarrow`.",
                         fix="pip install 'comem[eval]'.") from error
    try:
        return pq.read_table(path).to_pylist()
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for files it cannot read
        raise ComemError(f"{path} is not a readable parquet file: {error}",
                         fix="pass SWE-bench's parquet file, or convert it to JSON Lines.") from None


def _read_hub(name: str, split: str) -> list[Any]:
    try:
        import datasets
    except ImportError as error:
        raise ComemError(f"Loading the dataset {name!r} by name needs the Python package `datasets`.",
                         fix=f"pip install datasets, or {_LOCAL_FILE_FIX}") from error
    try:
        return list(datasets.load_dataset(name, split=split))
    except Exception as error:  # offline, unknown name or split: `datasets` raises many exception types
        reason = " ".join(str(error).split())[:300]
        raise ComemError(f"Could not load the Hugging Face dataset {name!r} (split {split!r}): {reason}",
                         fix=f"check the name and split; offline, {_LOCAL_FILE_FIX}") from None


def load_source(spec: str) -> list[SWEBenchTask]:
    """The `swebench:` task source: `PATH_OR_NAME[?split=test&namespace=swebench&tag=latest&arch=x86_64]`.

    `namespace=none` names images built locally. Any image option names every image by the rule.
    """
    source, _, query = spec.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = set(options) - {"split", "namespace", "tag", "arch"}
    if unknown or not source:
        raise ComemError(f"Bad swebench task source {spec!r}.",
                         fix="write swebench:PATH_OR_NAME[?split=test&namespace=swebench&tag=latest&arch=x86_64].")
    split = options.pop("split", "test")
    if "namespace" in options and options["namespace"].lower() in ("", "none"):
        options["namespace"] = None  # type: ignore[assignment]
    try:
        images = ImageNaming.model_validate(options) if options else None
    except pydantic.ValidationError as error:
        raise ComemError(f"Bad image option in {spec!r}: {error.errors()[0]['msg']}.",
                         fix="arch is x86_64 or arm64.") from None
    return load_swebench(source, split=split, images=images)


def build_hint(task: SWEBenchTask) -> str:
    return (f"`docker pull {task.image}`, or build it with the SWE-bench harness: "
            f"`swebench images build TASK_REPO -i {task.instance_id}`.")


class SWEBenchHarness:
    """Runs a SWE-bench instance in a container of its image and grades it with the official harness."""

    def __init__(self, docker: DockerSettings | None = None, grading: GradingSettings | None = None) -> None:
        self.docker = docker or DockerSettings()
        self.grading = grading or GradingSettings()

    def open(self, task: SWEBenchTask, *, bash_timeout_s: float) -> Environment:
        from comem.environment.docker_env import DockerEnvironment

        return DockerEnvironment.start(task.image, settings=self.docker, bash_timeout_s=bash_timeout_s,
                                       missing_image_fix=build_hint(task))

    def pinned(self, task: SWEBenchTask, env: Environment) -> Pinned:
        from comem.tasks.prompts import repo_prompts

        return repo_prompts(task.problem_statement, env.tool_specs, env.files())  # type: ignore[attr-defined]

    async def grade(self, task: SWEBenchTask, env: Environment, outcome: Outcome) -> Verdict:
        verdicts = await asyncio.to_thread(grade_patches, [task], {task.instance_id: env.diff()}, self.grading)
        return verdicts[task.instance_id]


def _register() -> None:
    from comem.tasks.sources import register_source

    register_harness(SWEBenchTask, SWEBenchHarness())
    register_source("swebench", load_source)


_register()
