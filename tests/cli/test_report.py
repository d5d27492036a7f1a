"""`comem report RUN_DIR` (cli/main.py) through the CLI: Markdown, JSON and PNGs; without matplotlib, no PNGs and
a note."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.cli.main import app
from tests.extras import needs
from tests.report.helpers import sample_run

runner = CliRunner()


@needs("matplotlib")
def test_report_writes_markdown_json_and_figures(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "kso" in result.output and "2.00x" in result.output
    markdown = (run / "summary.md").read_text()
    for section in ("## Success and cost", "## Latency", "## Memory updates", "## Identifier retention"):
        assert section in markdown
    assert "| kso | 2 | 2/2 | 100% [100%, 100%]" in markdown and "![retention.png](retention.png)" in markdown
    rows = json.loads((run / "summary.json").read_text())
    assert [r["arm"] for r in rows] == ["full", "kso", "mask"] and rows[1]["memory"]["updates"] == 1
    for name in ("success.png", "step_latency.png", "retention.png"):
        assert (run / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_matplotlib_the_report_skips_figures_with_a_note(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    run = sample_run(tmp_path / "run")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails as if not installed
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "comem[bench]" in result.output and "comem[bench]" in (run / "summary.md").read_text()
    assert not list(run.glob("*.png"))


def test_a_directory_without_results_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "holds no finished episodes" in output and "fix:" in output


def test_views_prints_retention_of_summary_ledger_and_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = sample_run(tmp_path / "run")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the figures are not what this test is about
    result = runner.invoke(app, ["report", str(run), "--views", "--ledger-tokens", "128"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    views = result.output.split("identifier retention by memory view")[1]
    rows = [line.split("│") for line in views.splitlines() if line.startswith("│ kso")]
    assert [row[2].strip() for row in rows] == ["summary", "ledger", "both"]  # the arm with summaries only
    assert all(row[3].strip() == "1" for row in rows)  # its one successful update, under each view
    assert "(128 tokens" in views
