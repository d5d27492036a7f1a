"""One real run shared by the viewer's tests: the bundled semver task under full, kso (k=2) and mask
(keep_last=1), run and graded by the real engine with scripted models (about 20 s, once per session)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from comem.llm.scripted import ScriptedLLM
from tests.view.helpers import scripted_run


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ScriptedLLM]]:
    out = tmp_path_factory.mktemp("run")
    return out, scripted_run(out)


@pytest.fixture
def run_copy(real_run, tmp_path: Path) -> Callable[[], Path]:
    """A fresh copy of the real run, for a test that damages or extends it."""

    def make() -> Path:
        return Path(shutil.copytree(real_run[0], tmp_path / f"run{len(list(tmp_path.iterdir()))}"))

    return make
