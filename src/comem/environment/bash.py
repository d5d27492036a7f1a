"""The `bash` tool: one non-interactive shell command per call, run without blocking the event loop.

The agent runs a memory model concurrently, so commands run via asyncio subprocesses. Each command
gets its own process group, which is killed when the command ends or times out: nothing the agent
starts outlives its tool call. This is best-effort confinement for a user-level process, not a
sandbox (see README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comem.environment.output import OutputCapture

TIMEOUT_EXIT_CODE = 124  # what coreutils `timeout` reports, so models recognise it
MAX_FILE_BYTES = 256 * 1024 * 1024
# After the shell exits, background jobs may still hold the output pipe open; wait this long for them.
BACKGROUND_GRACE_S = 0.5

_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_EDIT_INSTEAD = "Use the file_editor tool to view and edit files."
_PAGE_INSTEAD = "Use `cat`, `head -n`, `sed -n 'START,ENDp'` or file_editor `view` instead."
_REFUSED = {
    "vim": _EDIT_INSTEAD,
    "vi": _EDIT_INSTEAD,
    "nano": _EDIT_INSTEAD,
    "emacs": _EDIT_INSTEAD,
    "less": _PAGE_INSTEAD,
    "more": _PAGE_INSTEAD,
    "ipython": "Run Python non-interactively: `python -c '...'` or write a script and run it.",
    "jupyter": "Run Python non-interactively: `python -c '...'` or write a script and run it.",
    "nohup": "Background processes are killed when the command ends; run the program in the foreground.",
    "top": "Use `ps aux` for a one-off process listing.",
    "htop": "Use `ps aux` for a one-off process listing.",
    "watch": "Run the command once instead.",
}
_TOOLS = {"file_editor", "search", "submit"}  # the agent's other tools: the 1.5B typed `file_editor rewrite ...` here
_COMMAND_PREFIXES = {"sudo", "env", "exec", "time", "command", "builtin", "nice"}
_SEPARATORS = {";", "&", "&&", "|", "||", "|&", "(", ")", "\n"}


@dataclass(frozen=True)
class BashLimits:
    timeout_s: float = 60.0
    max_output_lines: int = 80
    max_output_bytes: int = 1_000_000


@dataclass(frozen=True)
class BashRun:
    output: str
    exit_code: int  # TIMEOUT_EXIT_CODE on timeout, 128 + N when killed by signal N (as bash reports)


def child_env(home: Path) -> dict[str, str]:
    """A clean environment: no host secrets or proxies, and `python`/`pytest` resolve to our interpreter."""
    python_dir = os.path.dirname(sys.executable)
    return {
        "HOME": str(home),
        "PATH": f"{python_dir}:{_SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "TERM": "dumb",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "GIT_AUTHOR_NAME": "comem",
        "GIT_AUTHOR_EMAIL": "comem@localhost",
        "GIT_COMMITTER_NAME": "comem",
        "GIT_COMMITTER_EMAIL": "comem@localhost",
    }


def refusal(command: str) -> str | None:
    """Why `command` would hang (interactive programs; there is no terminal) or cannot work (a tool's name used as a
    program), or None if it may run."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: let bash report it
        return None
    at_command = True
    for token in tokens:
        if token in _SEPARATORS:
            at_command = True
            continue
        if not at_command:
            continue
        if token in _COMMAND_PREFIXES or ("=" in token and token.split("=", 1)[0].isidentifier()):
            continue  # `sudo vim`, `FOO=1 vim`: the program is still ahead
        program = os.path.basename(token)
        if program in _TOOLS:
            return (f"`{program}` is one of your tools, not a shell command: call it as its own action (tool name "
                    f"\"{program}\" with its arguments), not through bash.")
        if program in _REFUSED:
            return (
                f"`{program}` is interactive or long-running and cannot be used here (there is no "
                f"terminal and stdin is /dev/null). {_REFUSED[program]}"
            )
        at_command = False
    return None


def _resource_limiter() -> Callable[[], None]:
    """The preexec hook; its limits are computed here, in the parent, so the child only calls setrlimit."""
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    size = MAX_FILE_BYTES if hard == resource.RLIM_INFINITY else min(MAX_FILE_BYTES, hard)
    file_limit, no_core = (size, size), (0, 0)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, file_limit)
        resource.setrlimit(resource.RLIMIT_CORE, no_core)

    return limit


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pgid, signal.SIGKILL)


class _CaptureProtocol(asyncio.SubprocessProtocol):
    """Feeds output straight into a bounded capture, and tells process exit apart from pipe close.

    (asyncio's `Process.wait()` also waits for the pipe, which a background job can hold open.)
    """

    def __init__(self, capture: OutputCapture, loop: asyncio.AbstractEventLoop) -> None:
        self._capture = capture
        self.exited: asyncio.Future[None] = loop.create_future()
        self.output_closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._capture.feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if not self.output_closed.done():
            self.output_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


def timed_out_run(output: str, timeout_s: float) -> BashRun:
    """The result of a command killed at its time limit: what it printed, then why it stopped."""
    note = (
        f"Command timed out after {timeout_s:g} s; it and its child processes were killed. "
        "Run a narrower or faster command."
    )
    return BashRun(output=f"{output}\n{note}" if output else note, exit_code=TIMEOUT_EXIT_CODE)


async def run_bash(command: str, cwd: Path, env: dict[str, str], limits: BashLimits) -> BashRun:
    """Run `bash -c command`; return merged stdout+stderr, bounded in memory and in lines."""
    loop = asyncio.get_running_loop()
    capture = OutputCapture(limits.max_output_bytes)
    transport, protocol = await loop.subprocess_exec(
        lambda: _CaptureProtocol(capture, loop),
        "bash",
        "-c",
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_resource_limiter(),
    )
    try:
        done, _ = await asyncio.wait({protocol.exited}, timeout=limits.timeout_s)
        timed_out = not done
        if not timed_out:  # let background jobs finish writing, briefly
            await asyncio.wait({protocol.output_closed}, timeout=BACKGROUND_GRACE_S)
    finally:  # also when the caller is cancelled: nothing started here outlives the call
        _kill_group(transport.get_pid())
        try:  # a process that escaped the group could hold the pipe open; do not wait for it long
            await asyncio.wait({protocol.exited, protocol.output_closed}, timeout=1.0)
        finally:
            transport.close()
    returncode = transport.get_returncode()

    output = capture.render(limits.max_output_lines)
    if timed_out or returncode is None:
        return timed_out_run(output, limits.timeout_s)
    exit_code = 128 - returncode if returncode < 0 else returncode
    return BashRun(output=output, exit_code=exit_code)
