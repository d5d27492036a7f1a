"""`comem eval` through its real entry point: bad input gives one clear line and exit 2; episodes that did not finish
exit 1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from comem.cli.main import app
from comem.core.jsonlog import read_records
from comem.core.records import Step
from comem.eval.results import read_results, trajectory_path
from tests.eval.eval_process import start
from tests.eval.standin import StandInServer, model_config
from tests.extras import needs

runner = CliRunner()


@pytest.mark.parametrize(("yaml_text", "flags", "message"), [
    ("arms: [full]\n", ["--executor", "slurm"], "Unknown executor 'slurm'"),
    ("arms: [full]\n", ["--seeds", "0,x"], "--seeds takes comma-separated integers"),
    ("arms: [full]\nconcurency: 4\n", [], "concurency"),
    ("tasks: [nosuch:thing]\narms: [full]\n", [], "Unknown task source prefix 'nosuch'"),
    pytest.param("arms: [full]\n", ["--executor", "ray", "--ray-address", "127.0.0.1:1"],
                 "Cannot connect to a Ray cluster", marks=needs("ray")),
])
def test_bad_input_is_one_clear_error(yaml_text: str, flags: list[str], message: str, tmp_path: Path) -> None:
    config = tmp_path / "eval.yaml"
    config.write_text(yaml_text + "task_ids: [semver-bump-minor]\ngrade: false\n")
    result = runner.invoke(app, ["eval", str(config), "--out", str(tmp_path / "out"), *flags])
    assert result.exit_code == 2, result.output
    assert message in result.output and "fix:" in result.output and "Traceback" not in result.output


def test_the_ray_executor_without_ray_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an uninstalled package looks like to import
    config = tmp_path / "eval.yaml"
    config.write_text("arms: [full]\ntask_ids: [semver-bump-minor]\ngrade: false\n")
    result = runner.invoke(app, ["eval", str(config), "--out", str(tmp_path / "out"), "--executor", "ray"])
    assert result.exit_code == 2, result.output
    assert "needs Ray" in result.output and "comem[eval]" in result.output and "Traceback" not in result.output


def test_missing_config_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "nope.yaml" in result.output and "fix:" in result.output


def test_an_episode_that_raises_is_reported_the_run_exits_1_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    config, out = tmp_path / "eval.yaml", tmp_path / "out"
    broken = StandInServer([{"name": "bash", "arguments": {"command": "rm -rf .git"}}, {"name": "submit"}])
    try:
        config.write_text(yaml.safe_dump({"arms": ["full"], "task_ids": ["semver-bump-minor", "daterange-len"],
                                          "grade": False, **model_config(broken)}))
        result = runner.invoke(app, ["eval", str(config), "--out", str(out)])
    finally:
        broken.close()
    assert result.exit_code == 1, result.output
    assert "did not finish (error): ComemError" in result.output and "Traceback" not in result.output
    assert f"2 episodes did not finish; rerun with --out {out}" in " ".join(result.output.split())
    server = StandInServer()
    try:
        config.write_text(yaml.safe_dump({"arms": ["full"], "task_ids": ["semver-bump-minor", "daterange-len"],
                                          "grade": False, **model_config(server)}))
        result = runner.invoke(app, ["eval", str(config), "--out", str(out)])
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert [r.exit_reason for r in read_results(out / "full" / "results.jsonl")] == ["submitted", "submitted"]


def test_tools_cannot_read_the_api_key_from_comems_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool could read the key from /proc/<comem pid>/environ (and the grader's test runs inherited it); it still
    reaches the model server."""
    secret = "sk-comem-test-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)  # `start` hands this environment to comem
    snoop = "tr '\\0' '\\n' < /proc/$PPID/environ; env; echo pid $PPID"
    server = StandInServer([{"name": "bash", "arguments": {"command": snoop}}, {"name": "submit"}])
    config, out = tmp_path / "eval.yaml", tmp_path / "out"
    try:
        config.write_text(yaml.safe_dump({"arms": ["full"], "task_ids": ["semver-bump-minor"], "grade": False,
                                          **model_config(server)}))
        proc = start(config, out)
        proc.communicate(timeout=120)
        headers = {r.headers.get("Authorization") for r in server.seen if r.method == "POST"}
    finally:
        server.close()
    assert proc.returncode == 0
    seen = next(r for r in read_records(trajectory_path(out / "full", "semver-bump-minor", 0))
                if isinstance(r, Step)).observation
    assert f"pid {proc.pid}" in seen and "PATH=" in seen  # it did read comem's own environment
    assert secret not in seen
    assert headers == {f"Bearer {secret}"}


def test_progress_shows_the_runs_eta_from_its_first_episode() -> None:
    """rich's own ETA keeps 30 s of speed samples, so with episodes of minutes it never appeared."""
    from types import SimpleNamespace

    from comem.cli.eval import EpisodeProgress

    episodes = [SimpleNamespace(arm=SimpleNamespace(key=arm), task_id=f"t{i}", seed=0)
                for i in range(3) for arm in ("full", "kso")]
    result = SimpleNamespace(finished=True, resolved=True, steps=4, wall_s=60.0, exit_reason="submitted")
    progress = EpisodeProgress(["full", "kso"], episodes)
    eta = progress.progress.tasks[progress.run_bar].fields
    assert eta["eta"] == "eta after the first episode"
    progress.started -= 60  # the first episode took a minute
    progress.done(episodes[0], result, skipped=False)
    assert eta["eta"] == "eta 5:00"  # five episodes left at a minute each
    for episode in episodes[1:]:
        progress.done(episode, result, skipped=False)
    assert eta["eta"] == ""


def test_ctrl_c_says_how_to_resume_after_the_live_bars_are_gone(tmp_path: Path) -> None:
    """In a terminal the live bars redrew over the interrupt line; it is now printed once they have stopped."""
    import os
    import pty
    import re
    import select
    import signal
    import subprocess
    import time

    server = StandInServer([{"name": "bash", "arguments": {"command": "sleep 3"}}])
    config, out = tmp_path / "eval.yaml", tmp_path / "out"
    config.write_text(yaml.safe_dump({"arms": ["full"], "task_ids": ["semver-bump-minor"], "grade": False,
                                      **model_config(server)}))
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "comem.cli", "eval", str(config), "--out", str(out)],
                                stdin=follower, stdout=follower, stderr=follower,
                                env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not inherited
        os.close(follower)
        seen, deadline = b"", time.monotonic() + 60
        while b"step 1" not in seen and time.monotonic() < deadline:  # the episode is running, bars are live
            seen += os.read(leader, 65536)
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 150  # it finishes the tool call in flight first
        while time.monotonic() < deadline:  # keep reading while it exits: a full terminal would block its writes
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=10)
    finally:
        server.close()
        os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace")).replace("\r", "\n")
    assert proc.returncode == 130
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last == f"interrupted: finished work is kept in {out}; rerun with --out {out} to resume."


@pytest.mark.parametrize(("settings", "noticed"), [
    ({"tasks": ["bundled"], "arms": ["full", "kso"]}, "not on bundled"),
    ({"tasks": ["browsecomp:mini", "bundled"], "arms": ["kso"]}, "not on bundled"),
    ({"tasks": ["browsecomp:mini?combine=2"], "arms": ["kso"]}, None),  # the tasks it was trained on
    ({"tasks": ["bundled"], "arms": ["full", {"name": "kso", "memory_view": "ledger"}]}, None),  # no memory model
])
def test_the_research_adapter_named_for_other_tasks_gets_a_note(settings: dict, noticed: str | None) -> None:
    from comem.cli.eval import adapter_notices
    from comem.eval.config import load_config
    from comem.eval.suite import EvalConfig

    config = load_config(None, {"memory": {"model": "comem-memory-135m"}, **settings}, EvalConfig)
    notes = adapter_notices(config)
    if noticed is None:
        assert notes == []
    else:
        assert len(notes) == 1 and noticed in notes[0] and "--memory-view ledger" in notes[0]
        assert "browsecomp:mini" not in notes[0].partition("not on")[2]  # only the other sources are named
    plain = load_config(None, {"memory": {"model": "smollm2-135m"}, **settings}, EvalConfig)
    assert adapter_notices(plain) == []  # a base model without the adapter: nothing to say
