"""Episodes as Ray tasks on an existing cluster; the driver keeps the files (see README.md beside this file).

Each Ray task runs one episode in its own event loop with its own clients to the model URLs, writes the
trajectory to a local temp file and returns it with the result; the driver writes both into the run directory
as tasks complete, so the layout, the resume and the crash-safety are those of local runs. Models are not
started per worker: embedded servers run on the driver (listening on 127.0.0.1), which serves a cluster whose
nodes are all this machine; a multi-node cluster needs URL endpoints every node can reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comem.core.errors import ComemError
from comem.eval.results import EpisodeResult, trajectory_path
from comem.eval.scheduler import run_one
from comem.eval.suite import Episode, EvalConfig
from comem.llm.endpoint import Endpoint
from comem.llm.open import Revived

_EXTRA_FIX = "pip install 'comem[eval]'"
_CLUSTER_FIX = ("start one with `ray start --head` (and `ray start --address=HEAD:PORT` on other nodes), or pass "
                "--ray-address HOST:PORT.")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ComemError("The Ray executor needs Ray, which is not installed.", fix=_EXTRA_FIX) from None
    return ray


@contextlib.contextmanager
def connect(address: str | None) -> Iterator[Any]:
    """Attach to the cluster at `address` (`auto`: the one started on this machine with `ray start`)."""
    ray = _ray()
    try:
        _probe(address)
        ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, ValueError, OSError) as exc:
        raise ComemError(f"Cannot connect to a Ray cluster at {address!r}: {str(exc).splitlines()[0]}",
                         fix=_CLUSTER_FIX) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _probe(address: str | None) -> None:
    """Fail in seconds on a HOST:PORT nothing listens on (ray.init would retry for minutes)."""
    if not address or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected HOST:PORT")
    socket.create_connection((host, int(port)), timeout=5).close()


def check_reachable(ray: Any, embedded: list[str]) -> None:
    """Embedded servers listen on this machine's loopback: every node must be this machine."""
    if not embedded:
        return
    here = ray.util.get_node_ip_address()
    elsewhere = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")} - {here})
    if elsewhere:
        raise ComemError(f"Embedded models ({', '.join(embedded)}) listen on 127.0.0.1 of {here}, which the Ray "
                         f"nodes at {', '.join(elsewhere)} cannot reach.",
                         fix="serve the models where every node reaches them (vLLM, SGLang, llama.cpp server) "
                             "and give agent.url / memory.url.")


def _ray_episode(episode: Episode, config: EvalConfig, agent: Endpoint, memory: Endpoint | None) -> tuple[str, str]:
    """Runs on a Ray worker: one episode; returns (result JSON, trajectory JSONL)."""
    return asyncio.run(_episode(episode, config, agent, memory))


async def _episode(episode: Episode, config: EvalConfig, agent: Endpoint, memory: Endpoint | None) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="comem-ray-") as tmp:
        path = Path(tmp) / "trajectory.jsonl"
        agent_llm, memory_llm = agent.client(seed=episode.seed), memory.client() if memory else None
        try:
            result = await run_one(episode, agent_llm, memory_llm, config, path)
        finally:
            await agent_llm.aclose()
            if memory_llm is not None:
                await memory_llm.aclose()
        return result.model_dump_json(), path.read_text(encoding="utf-8") if path.exists() else ""


@dataclass
class RayExecutor:
    """Submits each episode as a Ray task (1 CPU) and writes its trajectory into the run directory."""

    ray: Any
    config: EvalConfig
    out: Path
    agent: Endpoint
    memory: Endpoint | None
    supervised: Revived | None = None  # the embedded memory server, started again after an episode found it dead

    def __post_init__(self) -> None:
        self._remote = self.ray.remote(num_cpus=1)(_ray_episode)

    async def __call__(self, episode: Episode) -> EpisodeResult:
        restarts = self.supervised.restarts if self.supervised else 0
        ref = self._remote.remote(episode, self.config, self.agent, self.memory)
        try:
            result_json, trajectory = await ref
        except asyncio.CancelledError:
            self.ray.cancel(ref, force=True)
            raise
        path = trajectory_path(self.out / episode.arm.key, episode.task_id, episode.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(trajectory, encoding="utf-8")
        os.replace(partial, path)  # a whole trajectory or none, even if the driver dies here
        result = EpisodeResult.model_validate_json(result_json)
        if self.supervised is not None and await self.supervised.supervise() != restarts:
            # the memory server died while this episode ran: its updates may have failed, so it is not a result
            result = result.model_copy(update={"exit_reason": "error", "error": MEMORY_DIED})
        return result


MEMORY_DIED = ("the memory model's server died while this episode ran on Ray and was started again (incidents.log); "
               "its memory updates may have failed, so it is not counted and a rerun with --out runs it again")
