"""`comem view PATH` through the CLI: the export, the refusals (not a run, another host without a key), and a
real server process that prints its address, serves the run and stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from comem.cli.main import app
from tests.report.helpers import sample_run

runner = CliRunner()


def said(result) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def test_export_writes_one_file(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    result = runner.invoke(app, ["view", str(run), "--export", str(tmp_path / "run.html")])
    assert result.exit_code == 0, result.output
    assert "8 pages" in result.output  # the overview, 5 episodes, full vs kso on tasks a and b
    html = (tmp_path / "run.html").read_text()
    assert html.count('<section class="page"') == 8 and 'data-path="/compare/b/0/full/kso"' in html


def test_bad_paths_and_an_open_host_without_a_key_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["view", str(tmp_path / "nope"), "--no-open"])
    assert result.exit_code == 2 and "is not a directory" in said(result) and "fix:" in said(result)
    result = runner.invoke(app, ["view", str(tmp_path), "--no-open"])
    assert result.exit_code == 2 and "holds no run, replay or gateway sessions" in said(result)
    run = sample_run(tmp_path / "run")
    result = runner.invoke(app, ["view", str(run), "--host", "0.0.0.0", "--no-open"])
    assert result.exit_code == 2 and "without an API key" in said(result) and "--api-key" in said(result)


def test_serves_on_a_free_loopback_port_until_stopped(tmp_path: Path) -> None:
    run = sample_run(tmp_path / "run")
    process = subprocess.Popen([sys.executable, "-m", "comem.cli", "view", str(run), "--no-open"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        page = httpx.get(url[0] + "/episode/kso/a", timeout=30)
        assert page.status_code == 200 and "Summary 0" in page.text
    finally:
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=30)[0]
    assert process.returncode == 0 and "stopped" in rest and "Traceback" not in rest
