"""A Docker engine and a small SWE-bench-shaped image for the tests that need them; without either they skip.

The image is built from a base that has bash, coreutils, git and Python >= 3.10 (`COMEM_DOCKER_TEST_BASE`,
default `python:3.12`; it is pulled if missing and the engine can reach a registry). Like a SWE-bench instance
image it holds a git repository at /testbed, committed, plus what an image's setup leaves behind: an untracked
build file and an uncommitted change to a tracked file. Neither belongs in the agent's patch.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.environment.docker_env import connect
from tests.extras import missing, reason

BASE = os.environ.get("COMEM_DOCKER_TEST_BASE", "python:3.12")
IMAGE = "comem-test/swebench-mini:latest"
REPO_FILES = {
    "pkg/__init__.py": "",
    "pkg/mod.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
    "README.md": "# mini\nadd and sub\n",
    "tests/test_mod.py": "from pkg.mod import sub\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n",
}
SETUP_CHANGE = ("README.md", "# mini\nadd and sub\n", "# mini (installed)\nadd and sub\n")
DOCKERFILE = f"""\
ARG BASE
FROM ${{BASE}}
COPY repo /testbed
RUN python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
RUN cd /testbed && git init -q && git add -A && git -c user.name=swe -c user.email=swe@localhost commit -qm base \\
    && echo built > setup.log && printf '# mini (installed)\\nadd and sub\\n' > {SETUP_CHANGE[0]}
WORKDIR /testbed
"""
_state: dict[str, str] = {}


def write_repo(root: Path) -> Path:
    for name, text in REPO_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _context() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in {"Dockerfile": DOCKERFILE, **{f"repo/{k}": v for k, v in REPO_FILES.items()}}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def engine_reason() -> str | None:
    """Why no Docker test can run here, or None."""
    if "engine" not in _state and missing("docker"):
        _state["engine"] = reason("docker")
    if "engine" not in _state:
        try:
            connect(timeout_s=3).close()
            _state["engine"] = ""
        except ComemError as error:
            _state["engine"] = f"no Docker engine: {error.message}"
    return _state["engine"] or None


def require_engine() -> None:
    reason = engine_reason()
    if reason:
        pytest.skip(reason)


def mini_image() -> str:
    """The SWE-bench-shaped image's name, built once per session; skips the test when it cannot be had."""
    require_engine()
    if "image" not in _state:
        import docker

        client = connect()
        try:
            try:
                client.images.get(BASE)
            except docker.errors.ImageNotFound:
                client.images.pull(BASE)
            client.images.build(fileobj=io.BytesIO(_context()), custom_context=True, tag=IMAGE,
                                 buildargs={"BASE": BASE}, rm=True)
            _state["image"] = IMAGE
        except docker.errors.DockerException as error:
            _state["image"] = ""
            _state["image_reason"] = (f"cannot build the test image from {BASE} ({' '.join(str(error).split())}); "
                                      "set COMEM_DOCKER_TEST_BASE to a local image with bash, git and python3>=3.10")
        finally:
            client.close()
    if not _state["image"]:
        pytest.skip(_state["image_reason"])
    return _state["image"]

