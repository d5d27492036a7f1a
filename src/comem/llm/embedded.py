"""Runs a GGUF model behind a private OpenAI-compatible server in a child process (see embedded_worker).

The agent and the memory model each get their own server, as in the method, so a long memory summary
never queues behind an agent step. Servers never outlive the parent: `stop()` on exit, an atexit hook,
SIGTERM turned into SystemExit, and the child itself exits when its parent disappears.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from comem.core.errors import ComemError
from comem.llm.openai_http import OpenAIChatClient

XLLAMACPP_REQUIREMENT = "xllamacpp==2026.10.11549"
_live: set[EmbeddedServer] = set()


class EmbeddedServer:
    """One llama.cpp server for one model on 127.0.0.1. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str,
        lora: Path | None = None,
        n_ctx: int = 8192,
        n_threads: int = 2,
        n_parallel: int = 1,
        port: int | None = None,
        log_path: Path | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.alias = alias
        self.lora = Path(lora) if lora is not None else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_parallel = n_parallel
        self.port = port
        self.log_path = Path(log_path) if log_path is not None else None
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._address: str | None = None
        self._revive_lock = threading.Lock()
        self.restarts = 0

    @property
    def base_url(self) -> str:
        if self._address is None:
            raise RuntimeError("EmbeddedServer is not running; call start() first")
        return f"{self._address}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def client(self, **kwargs: Any) -> OpenAIChatClient:
        """A client for this server; the model name sent is the alias the server answers to."""
        return OpenAIChatClient(self.base_url, self.alias, **kwargs)

    def start(self) -> EmbeddedServer:
        if self._proc is not None:
            return self
        self._check_runtime()
        self._open_log()
        read_fd, write_fd = os.pipe()
        cmd = self._command(write_fd)
        try:
            # Own session: a terminal Ctrl-C reaches only the parent, which then stops servers in order.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            self.stop()  # closes the log
            raise
        finally:
            os.close(write_fd)
        _live.add(self)
        _exit_on_sigterm()
        try:
            with os.fdopen(read_fd, "rb") as ready:
                self._address = self._wait_for_address(ready, time.monotonic() + self.startup_timeout_s)
            self._wait_healthy(time.monotonic() + self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
        proc, self._proc = self._proc, None
        self._address = None
        _live.discard(self)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def revive(self) -> str | None:
        """Start the server again, on the same port, if its process died; what happened as one line for the run's
        summary, or None when it is running (another caller revived it first). Blocks while the model loads."""
        with self._revive_lock:
            if self._proc is None or self._proc.poll() is None:
                return None
            code, address = self._proc.returncode, self._address
            self.stop()
            if address is not None:
                self.port = int(address.rsplit(":", 1)[1])  # clients keep their URL
            self.restarts += 1
            what = f"the {self.alias} server (exit code {code}) died and was restarted"
            try:
                self.start()
            except ComemError as exc:
                return f"the {self.alias} server (exit code {code}) died and could not be restarted: {exc.message}"
            return what

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # What a subclass serving another model format (comem.llm.hf_server.HFServer) changes: the runtime it needs,
    # the child it starts (same --ready-fd/--parent-pid protocol), and the fix a load failure names.
    load_fix = "check that the file is a complete GGUF model that llama.cpp can load"

    def _check_runtime(self) -> None:
        if importlib.util.find_spec("xllamacpp") is None:
            raise ComemError(
                "the embedded model runtime (xllamacpp) is not installed.",
                fix=f"pip install --no-deps {XLLAMACPP_REQUIREMENT}, or pass --agent-url to use a running server.",
            )

    def _command(self, ready_fd: int) -> list[str]:
        return [
            sys.executable, "-m", "comem.llm.embedded_worker",
            "--model", str(self.model_path), "--alias", self.alias,
            "--n-ctx", str(self.n_ctx), "--threads", str(self.n_threads),
            "--n-parallel", str(self.n_parallel), "--port", str(self.port or 0),
            "--ready-fd", str(ready_fd), "--parent-pid", str(os.getpid()),
            *(["--lora", str(self.lora)] if self.lora is not None else []),
        ]  # fmt: skip

    def _open_log(self) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a+b")
        else:  # an unlinked temp file: a load failure can still quote it, and no kill can leak it
            self._log = tempfile.TemporaryFile(prefix="comem-llm-", suffix=".log")  # noqa: SIM115 (closed by stop)

    def _wait_for_address(self, ready: IO[bytes], deadline: float) -> str:
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(f"the model server did not start within {self.startup_timeout_s:.0f} s")
            readable, _, _ = select.select([ready], [], [], remaining)
            if readable:
                chunk = os.read(ready.fileno(), 256)
                if not chunk:  # the child closed the pipe without an address: it exited
                    raise self._failure("model failed to load")
                line += chunk
        return line.decode().strip()

    def _wait_healthy(self, deadline: float) -> None:
        """/health answers 503 while the model loads and 200 once requests can be served."""
        url = f"{self._address}/health"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise self._failure("model failed to load")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=5.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise self._failure(f"the model server did not become healthy within {self.startup_timeout_s:.0f} s")

    def _failure(self, what: str) -> ComemError:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)  # let a dying child finish writing its log
        code = self._proc.poll() if self._proc is not None else None
        status = f" (server exited with code {code})" if code is not None else ""
        tail = _tail(self._log) if self._log is not None else ""
        fix = self.load_fix
        model = str(self.model_path)
        if self.lora is not None:
            model += f" with the LoRA adapter {self.lora}"
            fix += ", and that the adapter was exported for this model (comem train export-gguf)"
        if self.log_path is not None:
            fix += f"; see {self.log_path}"
        return ComemError(f"{what}: {model}{status}.\n{tail}", fix=fix + ".")


def _tail(log: IO[bytes], lines: int = 15) -> str:
    fd = log.fileno()
    size = os.fstat(fd).st_size
    text = os.pread(fd, 8192, max(0, size - 8192)).decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _exit_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C does, so `with EmbeddedServer(...)` blocks get to stop()."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop()
