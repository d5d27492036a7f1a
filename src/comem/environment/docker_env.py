"""A Docker container as the agent's environment: the same four tools as a local workspace, run inside it.

Made for SWE-bench instance images (the repository at /testbed, a conda env `testbed`), and usable with any
image that has bash, coreutils, git and a Python >= 3.10 somewhere (SWE-bench images have
/opt/miniconda3/bin/python3). Every tool call is one `docker exec`:

- bash: `timeout` inside the container, output written to a file first (a background job holding the exec
  stream open would otherwise stall the call), then streamed into the same bounded capture the local tool uses;
  whatever the command left running is killed with its process group, as locally.
- file_editor and search: the local tool modules themselves, copied into the container and run there by
  `comem.environment.docker.tool_runner`, so views, edits and errors read exactly as in a local workspace.

The activation (`conda activate testbed`) runs once; its environment is passed to every command. `diff()` is
the agent's change against the tree the container started with, untracked files included and tool caches left
out, without touching the index the agent sees: exactly the patch the SWE-bench harness applies to a fresh
container of the same image.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import tarfile
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.records import ToolCall, ToolResult
from comem.environment.bash import MAX_FILE_BYTES, TIMEOUT_EXIT_CODE, BashLimits, BashRun, child_env, timed_out_run
from comem.environment.docker import tool_runner
from comem.environment.output import OutputCapture
from comem.environment.tools import ToolArgumentError, ToolError, build_tool_specs
from comem.environment.workspace import GIT_EXCLUDES, dispatch

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

SWEBENCH_ACTIVATE = "source /opt/miniconda3/bin/activate && conda activate testbed"
TOOLS_DIR = "/opt/comem-tools"
_PYTHON_CANDIDATES = ("/opt/miniconda3/bin/python3", "python3")
_TOOL_MODULES = ("tools", "output", "definitions", "file_editor", "search")  # what tool_runner imports, stdlib only
LABEL = "comem.environment"  # `docker rm -f $(docker ps -aq --filter label=comem.environment)` clears leftovers
_SKIPPED_ENV = {"PWD", "OLDPWD", "SHLVL", "_"}
EXTRA_FIX = "pip install 'comem[eval]' (the Docker runtime needs the `docker` package)."

# $1: the time limit in seconds, $2: the agent's command. The command writes to a file, not to the exec stream,
# so a background job cannot keep the call open; `timeout` leads its own process group, which is killed after.
BASH_WRAPPER = f"""\
ulimit -c 0; ulimit -f {MAX_FILE_BYTES // 1024} 2>/dev/null
out=$(mktemp) || exit 125
timeout -k 1 "$1" bash -c "$2" </dev/null >"$out" 2>&1 &
pid=$!
wait "$pid"; rc=$?
kill -KILL -- "-$pid" 2>/dev/null
cat "$out"; rm -f "$out"
exit "$rc"
"""
# Every git call: no user or system config, any owner's repository, paths unquoted.
_GIT = """\
set -e
git() { command git -c safe.directory='*' -c core.quotePath=false "$@"; }
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C.UTF-8
"""
# Tool caches are not part of the patch; as in a local workspace they go into the repository's own excludes, so
# that the agent's `git add -A` leaves them out too.
EXCLUDE_CACHES = _GIT + f"""\
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
cat {TOOLS_DIR}/git-exclude >> "$exclude"
"""
# "$@" is a git command line, run with everything in the work tree staged in a scratch index (staging must not
# disturb the index the agent sees).
GIT_SNAPSHOT = _GIT + """\
index=$(git rev-parse --git-path index)
export GIT_INDEX_FILE="$(mktemp -u)"
trap 'rm -f "$GIT_INDEX_FILE"' EXIT
cp "$index" "$GIT_INDEX_FILE" 2>/dev/null || true  # a copy: only files changed since are hashed again
git add -A
"$@"
"""
_PROBE_PYTHON = """\
for p in "$@"; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null
  then command -v "$p"; exit 0; fi
done
exit 1
"""


class DockerSettings(StrictModel):
    """How containers are started and entered; the defaults fit SWE-bench instance images."""

    model_config = ConfigDict(frozen=True)

    workdir: str = "/testbed"
    # Shell code run once; the environment it leaves is every command's. None: the image's own environment.
    activate: str | None = SWEBENCH_ACTIVATE
    tool_python: str | None = None  # a Python >= 3.10 in the image for file_editor/search; None: found by probing
    docker_host: str | None = None  # None: DOCKER_HOST, else the local socket
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_output_lines: int = 80
    max_output_bytes: int = 1_000_000


def connect(docker_host: str | None = None, timeout_s: float = 5.0) -> DockerClient:
    """A client for a reachable engine, or one ComemError within about `timeout_s` (never a hang)."""
    try:
        import docker
        import requests
    except ImportError as error:
        raise ComemError("The Docker runtime needs the Python package `docker`.", fix=EXTRA_FIX) from error
    where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        client = (docker.DockerClient(base_url=docker_host, timeout=timeout_s) if docker_host
                  else docker.from_env(timeout=timeout_s))
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        reason = " ".join(str(error).split())
        raise ComemError(f"No Docker engine is reachable at {where}: {reason}",
                         fix="start Docker (`docker version` must show a Server), or point DOCKER_HOST at a "
                             "running engine.") from None
    return client


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():  # a name ending in "/" is a directory
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = int(time.time())
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tool_bundle() -> dict[str, bytes]:
    """The files of TOOLS_DIR: the tool modules under their package paths (with empty package files, so nothing
    else is imported), the git excludes, and the folder requests are put in."""
    files = {"comem/__init__.py": b"", "comem/environment/__init__.py": b"",
             "comem/environment/docker/__init__.py": b"",
             "comem/environment/docker/tool_runner.py": Path(tool_runner.__file__).read_bytes(),
             "git-exclude": GIT_EXCLUDES.encode(), "requests/": b""}
    package = Path(tool_runner.__file__).parents[1]
    for module in _TOOL_MODULES:
        files[f"comem/environment/{module}.py"] = (package / f"{module}.py").read_bytes()
    return files


def _parse_env(data: bytes) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in data.decode("utf-8", errors="replace").split("\0") if "=" in item)
    return {key: value for key, value in pairs if key not in _SKIPPED_ENV}


def _remove(client: DockerClient, container_id: str) -> None:
    with contextlib.suppress(Exception):  # already gone, or the engine went away: nothing left to do
        client.api.remove_container(container_id, force=True)
    with contextlib.suppress(Exception):
        client.close()


class DockerEnvironment:
    """One running container that implements the `Environment` protocol; `close()` removes it."""

    def __init__(self, client: DockerClient, container: Container, settings: DockerSettings, bash_timeout_s: float,
                 image: str) -> None:
        self.image = image
        self.root = settings.workdir
        self.settings = settings
        self._client = client
        self._container = container
        self._cleanup = weakref.finalize(self, _remove, client, container.id)
        self._limits = BashLimits(bash_timeout_s, settings.max_output_lines, settings.max_output_bytes)
        self._requests = 0
        self.tool_specs: list[dict[str, Any]] = build_tool_specs(bash_timeout_s)
        self._env: dict[str, str] = {}
        self._python = ""
        self._base_tree = ""

    @classmethod
    def start(cls, image: str, *, settings: DockerSettings | None = None, bash_timeout_s: float = 60.0,
              missing_image_fix: str | None = None) -> DockerEnvironment:
        """Start a container from `image` and prepare it: activation, tools, the base snapshot of the repo."""
        settings = settings or DockerSettings()
        client = connect(settings.docker_host, settings.connect_timeout_s)
        import docker

        client.api.timeout = bash_timeout_s + 60  # a quiet command must not hit the read timeout
        slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", image.rsplit("/", 1)[-1])[:60].strip("-.") or "image"
        try:
            client.images.get(image)
            container = client.containers.create(
                image, command=["tail", "-f", "/dev/null"], name=f"comem-{slug}-{uuid.uuid4().hex[:8]}",
                working_dir=settings.workdir, labels={LABEL: "docker"}, init=True, detach=True)  # init reaps orphans
        except docker.errors.ImageNotFound:
            client.close()
            raise ComemError(f"The Docker image {image} is not available locally.",
                             fix=missing_image_fix or f"`docker pull {image}`, or build it.") from None
        except docker.errors.DockerException as error:
            client.close()
            raise ComemError(f"Could not create a container from {image}: {' '.join(str(error).split())}",
                             fix="check `docker info`, and that `docker run --rm IMAGE true` works.") from None
        env = cls(client, container, settings, bash_timeout_s, image)
        try:
            container.start()
            env._prepare()
        except BaseException:
            env.close()
            raise
        return env

    # ------------------------------------------------------------------ setup

    def _prepare(self) -> None:
        self._env = self._activated_env()
        self._python = self._find_python()
        prefix = TOOLS_DIR.strip("/")
        self._put("/", {f"{prefix}/{name}": data for name, data in tool_bundle().items()})
        self._git("bash", "-c", EXCLUDE_CACHES)
        self._base_tree = self._git_snapshot("write-tree").strip()

    def _activated_env(self) -> dict[str, str]:
        shell_env = {k: v for k, v in child_env(Path("/")).items() if k not in ("HOME", "PATH")}
        if self.settings.activate is None:
            return shell_env
        script = f"{{ {self.settings.activate}\n}} >&2 || exit 97\nenv -0"
        code, out, err = self._exec(["bash", "-c", script], demux=True)
        if code != 0:
            raise ComemError(f"Activating the environment in {self.image} failed ({self.settings.activate!r}, "
                             f"exit {code}): {_tail(err)}",
                             fix="use a SWE-bench instance image, or set DockerSettings.activate to the image's "
                                 "activation command (None for none).")
        return {**_parse_env(out), **shell_env}

    def _find_python(self) -> str:
        candidates = [self.settings.tool_python] if self.settings.tool_python else list(_PYTHON_CANDIDATES)
        code, out, _ = self._exec(["bash", "-c", _PROBE_PYTHON, "probe", *candidates], demux=True)
        if code != 0:
            raise ComemError(f"No Python >= 3.10 found in {self.image} (tried {', '.join(candidates)}); the "
                             "file_editor and search tools run with it.",
                             fix="use an image that has one (SWE-bench images have /opt/miniconda3/bin/python3), "
                                 "or set DockerSettings.tool_python.")
        return out.decode().strip()

    # ------------------------------------------------------------------ exec

    @contextlib.contextmanager
    def _engine(self) -> Iterator[None]:
        """Engine and connection errors mid-episode become one ComemError: the episode cannot go on."""
        import docker
        import requests

        try:
            yield
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise ComemError(f"The container {self._container.name} ({self.image}) stopped answering: "
                             f"{' '.join(str(error).split())}",
                             fix="check `docker ps -a` and the engine's logs; rerun the task.") from None

    def _put(self, directory: str, files: dict[str, bytes]) -> None:
        with self._engine():
            self._container.put_archive(directory, _tar(files))

    def _exec(self, cmd: list[str], *, env: dict[str, str] | None = None, workdir: str | None = None,
              demux: bool = False, sink: OutputCapture | None = None) -> tuple[int, bytes, bytes]:
        """Run `cmd` in the container: (exit code, stdout, stderr); with `sink`, output streams into it."""
        api = self._client.api
        with self._engine():
            exec_id = api.exec_create(self._container.id, cmd, environment=env, workdir=workdir or self.root)["Id"]
            if sink is not None:
                for chunk in api.exec_start(exec_id, stream=True):
                    sink.feed(chunk)
                out, err = b"", b""
            elif demux:
                out, err = api.exec_start(exec_id, demux=True)
            else:
                out, err = api.exec_start(exec_id), b""
            code = api.exec_inspect(exec_id)["ExitCode"]
        return code, out or b"", err or b""

    # ------------------------------------------------------------------ tools

    async def execute(self, call: ToolCall) -> ToolResult:
        return await dispatch(call, self.tool_specs, self)

    async def bash(self, command: str) -> BashRun:
        return await asyncio.to_thread(self._bash, command)

    def _bash(self, command: str) -> BashRun:
        capture = OutputCapture(self._limits.max_output_bytes)
        start = time.monotonic()
        limit = self._limits.timeout_s
        code, _, _ = self._exec(["bash", "-c", BASH_WRAPPER, "bash", f"{limit:g}", command], env=self._env,
                                sink=capture)
        rendered = capture.render(self._limits.max_output_lines)
        if code in (TIMEOUT_EXIT_CODE, 128 + 9) and time.monotonic() - start >= limit:
            return timed_out_run(rendered, limit)
        return BashRun(output=rendered, exit_code=code)

    async def file_editor(self, args: dict[str, Any]) -> str:
        return await asyncio.to_thread(self._run_tool, "file_editor", args)

    async def search(self, search_term: str, path: str) -> str:
        return await asyncio.to_thread(self._run_tool, "search", {"search_term": search_term, "path": path})

    def _run_tool(self, tool: str, arguments: dict[str, Any]) -> str:
        self._requests += 1
        name = f"{self._requests}.json"
        request = {"tool": tool, "arguments": arguments, "root": self.root, "state": f"{TOOLS_DIR}/editor.pickle"}
        self._put(f"{TOOLS_DIR}/requests", {name: json.dumps(request).encode()})
        module = "comem.environment.docker.tool_runner"
        code, out, err = self._exec([self._python, "-S", "-E", "-B", "-m", module, f"requests/{name}"],
                                    workdir=TOOLS_DIR, env={"LC_ALL": "C.UTF-8"}, demux=True)
        try:
            reply = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ToolError(f"The {tool} tool failed inside the container (exit {code}): {_tail(err)}") from None
        status, text = reply["status"], reply["output"]
        if status == "argument":
            raise ToolArgumentError(text)
        if status == "tool":
            raise ToolError(text)
        if status == "os":
            raise OSError(reply.get("errno", 0), text, reply.get("filename"))
        return text

    # ------------------------------------------------------------------ repository

    def _git(self, *cmd: str) -> str:
        code, out, err = self._exec(list(cmd), demux=True)
        if code != 0:
            raise ComemError(f"git failed in {self.image} at {self.root}: {_tail(err)}",
                             fix=f"the image must hold a git repository at {self.root} (DockerSettings.workdir).")
        return out.decode("utf-8", errors="replace")

    def _git_snapshot(self, *command: str) -> str:
        """Run a git command line with everything in the work tree staged (see GIT_SNAPSHOT)."""
        return self._git("bash", "-c", GIT_SNAPSHOT, "git-snapshot", "git", *command)

    def diff(self) -> str:
        """The agent's changes against the tree the container started with, new untracked files included."""
        return self._git_snapshot("diff", "--cached", "--no-color", "--no-ext-diff", self._base_tree)

    def files(self) -> list[str]:
        """The repository's files (tracked and untracked, not ignored), without hidden paths or caches."""
        listing = self._git_snapshot("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        names = (name for name in listing.split("\0") if name)
        return sorted({name for name in names
                       if not any(part.startswith(".") or part == "__pycache__" for part in name.split("/"))})

    def close(self) -> None:
        """Remove the container; safe to call twice."""
        self._cleanup()

    def __enter__(self) -> DockerEnvironment:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _tail(data: bytes, limit: int = 500) -> str:
    text = " ".join(data.decode("utf-8", errors="replace").split())
    return text[-limit:] or "(no output)"
