"""`comem report RUN_DIR` (cli/main.py) through the CLI: Markdown, JSON and PNGs; without matplotlib, no PNGs and
a note."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.records import MemoryRecord
from tests.extras import needs
from tests.report.helpers import sample_run, step, write_episode

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
    result = runner.invoke(app, ["report", str(run), "--views", "--ledger-tokens", "128"])
    assert result.exit_code == 0, result.output
    views = result.output.split("identifier retention by memory view")[1]
    rows = [line.split("│") for line in views.splitlines() if line.startswith("│ kso")]
    assert [row[2].strip() for row in rows] == ["summary", "ledger", "both"]  # the arm with summaries only
    assert all(row[3].strip() == "1" for row in rows)  # its one successful update, under each view
    assert "(128 tokens" in views


def test_views_label_a_recent_arms_recorded_memory_recent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `memory_view: recent` arm records its view where a summary goes; the table names it for what it is."""
    run = sample_run(tmp_path / "run")
    recent = MemoryRecord(id=0, strategy="kso", mode="from_scratch", view="recent", covers=(0, 1), launch_step=1,
                          status="ok", summary='Last steps (newest last):\n- bash {"command": "ls"} -> src/pkg/mod0.py',
                          launched_s=1.0, finished_s=1.0)
    write_episode(run, "kso-recent", "a", 0, [step(0, 1.0), step(1, 1.0)], 4.0, False, [recent])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["report", str(run), "--views"])
    assert result.exit_code == 0, result.output
    views = result.output.split("identifier retention by memory view")[1]
    labels = {(row[1].strip(), row[2].strip()) for row in (line.split("│") for line in views.splitlines())
              if len(row) > 2 and row[1].strip().startswith("kso")}
    assert ("kso-recent", "recent") in labels and ("kso-recent", "summary") not in labels
    assert ("kso", "summary") in labels  # a summary arm keeps its label
