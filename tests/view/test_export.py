"""The export: one file with every page of the directory, nothing fetched from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.view.export import export_html
from tests.view.helpers import TASK, replay_dir


def external_references(html: str) -> list[str]:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html) + re.findall(r"url\(([^)]+)\)", html)
    return [r for r in refs if not r.startswith(("#", "data:"))]


def test_a_run_exports_every_page_in_one_self_contained_file(real_run, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    pages = export_html(real_run[0], out)
    html = out.read_text(encoding="utf-8")
    assert pages == 1 + 3 + 2  # the overview, three episodes, the first arm against each other
    assert html.count('<section class="page"') == pages and external_references(html) == []
    assert f'data-path="/episode/kso/{TASK}"' in html and f'href="#/compare/{TASK}/0/full/mask"' in html
    assert html.count('class="ctx-data"') == 3 and "ident lost" in html and "<script src" not in html


def test_a_replay_exports_its_page(tmp_path: Path) -> None:
    out = tmp_path / "replay.html"
    assert export_html(replay_dir(tmp_path / "replay"), out) == 1
    assert 'class="bar memory"' in out.read_text() and external_references(out.read_text()) == []


def test_an_export_into_a_missing_folder_is_refused(real_run, tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist"):
        export_html(real_run[0], tmp_path / "no" / "run.html")
