"""Episodes as Ray tasks on a real local cluster (`ray start --head`), models at a loopback stand-in server:
same files as a local run, written by the driver, and a rerun that resumes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeEnd, EpisodeStart, MemoryRecord
from comem.eval.engine import run_suite
from comem.eval.ray_executor import check_reachable
from comem.eval.results import read_incidents, read_results, trajectory_path
from comem.eval.suite import EvalConfig, plan, select_tasks
from tests.eval.eval_process import start, wait_for
from tests.eval.standin import StandInServer, model_config
from tests.extras import needs, needs_model, requires

RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def session_members(sid: int) -> list[int]:
    """Processes of the session the cluster was started in (ray start's own children)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:
                members.append(int(entry.name))
    return members


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A one-node cluster with 2 CPUs on ports of its own; stopped by signalling only the processes it started."""
    requires("ray")
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    ports = {flag: free_port() for flag in ("ray-client-server-port", "dashboard-agent-listen-port",
                                            "dashboard-agent-grpc-port", "runtime-env-agent-port",
                                            "metrics-export-port", "node-manager-port", "object-manager-port")}
    cmd = [str(RAY), "start", "--head", "--block", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
           "--disable-usage-stats", f"--temp-dir={temp}", *(f"--{flag}={value}" for flag, value in ports.items())]
    with open(Path(temp) / "ray-start.log", "wb") as log:
        head = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not listening(port):
            assert head.poll() is None and time.monotonic() < deadline, (Path(temp) / "ray-start.log").read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops its processes on exit (our `ray stop`)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
        deadline = time.monotonic() + 10
        while (left := session_members(head.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def test_episodes_run_as_ray_tasks_and_resume(ray_cluster: str, tmp_path: Path) -> None:
    server = StandInServer(delay_s=0.02)
    try:
        config = EvalConfig(task_ids=["semver-bump-minor", "daterange-len"], arms=["full", {"name": "kso", "k": 1}],
                            concurrency=2, grade=False, episode_timeout_s=60, **model_config(server))
        episodes = plan(config, select_tasks(config))
        asyncio.run(run_suite(config, tmp_path, episodes, executor="ray", ray_address=ray_cluster))
        requests = len(server.requests)
        asyncio.run(run_suite(config, tmp_path, episodes, executor="ray", ray_address=ray_cluster))
        assert len(server.requests) == requests  # all finished: the rerun ran nothing
    finally:
        server.close()
    assert {q.get("seed") for q in server.requests if q["model"] == "agent"} == {0}
    for arm in ("full", "kso"):
        results = read_results(tmp_path / arm / "results.jsonl")
        assert sorted(r.instance_id for r in results) == ["daterange-len", "semver-bump-minor"]
        assert len((tmp_path / arm / "results.jsonl").read_text().splitlines()) == 2
        for r in results:
            assert r.exit_reason == "submitted" and r.strategy == arm
            records = read_records(trajectory_path(tmp_path / arm, r.instance_id, r.seed))
            assert isinstance(records[0], EpisodeStart) and isinstance(records[-1], EpisodeEnd)
            assert records[-1].steps == r.steps == 3
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.slow
@needs_model("smollm2-135m")
def test_a_memory_server_that_died_under_a_ray_episode_is_restarted_and_the_episode_is_not_a_result(
        ray_cluster: str, tmp_path: Path) -> None:
    """Ray workers reach an embedded memory server by URL, so nothing restarted it: the rest of the run went on
    without memory. The driver now looks after each episode; one that ran while the server was dead is not counted."""
    from comem.eval.engine import Events
    from comem.eval.ray_executor import MEMORY_DIED
    from tests.eval.test_eval_embedded import SMOL, server_pid

    killed: list[int] = []

    def kill_after_the_first(episode, result, skipped) -> None:
        if not killed:
            killed.append(server_pid("memory"))
            os.kill(killed[0], signal.SIGKILL)

    server = StandInServer(delay_s=0.02)
    try:
        config = EvalConfig(task_ids=["semver-bump-minor", "daterange-len"], arms=[{"name": "kso", "k": 1}],
                            concurrency=1, grade=False, episode_timeout_s=120,
                            agent=model_config(server)["agent"], memory={**SMOL, "max_retries": 0})
        episodes = plan(config, select_tasks(config))
        asyncio.run(run_suite(config, tmp_path, episodes, Events(done=kill_after_the_first), executor="ray",
                              ray_address=ray_cluster))
        first, second = read_results(tmp_path / "kso" / "results.jsonl")
        assert first.finished and first.exit_reason == "submitted"
        assert not second.finished and second.error == MEMORY_DIED  # its memory calls met a dead server
        [incident] = read_incidents(tmp_path)
        assert "memory:smollm2-135m server (exit code -9) died and was restarted" in incident
        asyncio.run(run_suite(config, tmp_path, episodes, executor="ray", ray_address=ray_cluster))
    finally:
        server.close()
    results = {r.instance_id: r for r in read_results(tmp_path / "kso" / "results.jsonl")}
    assert all(r.finished for r in results.values())  # the rerun ran the second episode again, on a live server
    assert len((tmp_path / "kso" / "results.jsonl").read_text().splitlines()) == 3
    memory = [r for r in read_records(trajectory_path(tmp_path / "kso", second.instance_id, 0))
              if isinstance(r, MemoryRecord)]
    assert memory and all(r.status in ("ok", "superseded") for r in memory)


def test_sigterm_stops_a_ray_run_cleanly_and_it_resumes(ray_cluster: str, tmp_path: Path) -> None:
    """ray.init installs a SIGTERM handler that dumps a stack and exits; ours must win and stop cleanly."""
    server = StandInServer(delay_s=0.3)
    config, out, arms = tmp_path / "eval.yaml", tmp_path / "run", ["full"]
    tasks = ["semver-bump-minor", "daterange-len", "unitconv-fahrenheit", "money-minor-units"]
    config.write_text(yaml.safe_dump({"task_ids": tasks, "arms": arms, "concurrency": 1, "grade": False,
                                      "episode_timeout_s": 60, **model_config(server)}))
    flags = ("--executor", "ray", "--ray-address", ray_cluster)
    try:
        proc = start(config, out, *flags)
        wait_for(proc, out, arms, 1, timeout_s=120)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 130 and "interrupted" in output and "SIGTERM received" not in output, output
        done = len(read_results(out / "full" / "results.jsonl"))
        assert 1 <= done < len(tasks)
        proc = start(config, out, *flags)
        output = proc.communicate(timeout=120)[0].decode()
        assert proc.returncode == 0, output
    finally:
        server.close()
    assert sorted(r.instance_id for r in read_results(out / "full" / "results.jsonl")) == sorted(tasks)


def test_embedded_models_need_every_node_on_this_machine() -> None:
    class FakeRay:  # the two facts check_reachable reads from a cluster
        class util:
            @staticmethod
            def get_node_ip_address() -> str:
                return "10.0.0.1"

        @staticmethod
        def nodes() -> list[dict]:
            return [{"NodeManagerAddress": "10.0.0.1", "Alive": True}, {"NodeManagerAddress": "10.0.0.2",
                                                                       "Alive": True}]

    check_reachable(FakeRay, [])  # URL endpoints: any cluster
    with pytest.raises(ComemError, match="10.0.0.2"):
        check_reachable(FakeRay, ["qwen2.5-coder-0.5b"])


@needs("ray")
@pytest.mark.timeout(120)  # a hang fails here, not at the suite's limit
def test_no_cluster_at_the_address_is_one_clear_error_from_the_probe(tmp_path: Path) -> None:
    config = EvalConfig(task_ids=["semver-bump-minor"], arms=["full"], grade=False)
    with pytest.raises(ComemError, match="Cannot connect to a Ray cluster") as caught:
        asyncio.run(run_suite(config, tmp_path, plan(config, select_tasks(config)), executor="ray",
                              ray_address=f"127.0.0.1:{free_port()}"))
    assert "ray start --head" in caught.value.fix
    assert "Connection refused" in caught.value.message  # the quick probe answered, not ray.init's minutes of retries
