"""Shared by the training-data and eval-memory tests: small real trajectory files, and a loopback stand-in for an
OpenAI-compatible server whose answers a test decides per request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeEnd, EpisodeStart, Step, ToolCall
from tests.llm.test_llm_openai_http import delta, sse

ACTIONS = [
    ToolCall(name="file_editor", arguments={"command": "view", "path": "calc/ops.py"}),
    ToolCall(name="search", arguments={"search_term": "divide"}),
    ToolCall(name="bash", arguments={"command": "python -m pytest -q tests/test_ops.py"}),
    ToolCall(name="file_editor", arguments={"command": "str_replace", "path": "calc/ops.py",
                                            "old_str": "return a / b", "new_str": "return a // b"}),
    ToolCall(name="bash", arguments={"command": "git diff"}),
    ToolCall(name="submit", arguments={}),
]


def write_trajectory(path: Path, name: str, n_steps: int, *, missing_action_at: int | None = None) -> Path:
    """A `comem run`-shaped trajectory file, written with the real JsonlLog: short prompts and
    observations, so a real model reads it quickly. Step `missing_action_at` has a format error (no action)."""
    writer = JsonlLog(path)
    writer.write(EpisodeStart(instance_id=name, strategy="full", system_prompt="You fix bugs with tools.",
                              task_prompt=f"Task {name}: divide() in calc/ops.py must floor."))
    for i in range(n_steps):
        call = None if i == missing_action_at else ACTIONS[i % len(ACTIONS)]
        response = f"Step {i} of {name}.\n" + (json.dumps({"name": call.name, "arguments": call.arguments})
                                                if call else "I am not sure.")
        writer.write(Step(index=i, thought=f"Step {i} of {name}.", response=response, action=call,
                          observation=f"[{name} output {i}] " + "ok " * (5 + i), format_error=call is None))
    writer.write(EpisodeEnd(instance_id=name, strategy="full", exit_reason="step_limit", steps=n_steps, wall_s=1.0,
                            agent_s=0.5, tool_s=0.5, memory_wait_s=0.0, max_prompt_tokens=100, memory_updates=0))
    writer.close()
    return path


def write_run(root: Path, tasks: dict[str, int]) -> Path:
    """A `comem run` arm directory holding one trajectory per (task, step count)."""
    for name, n in tasks.items():
        write_trajectory(root / "full" / "trajectories" / f"{name}.jsonl", name, n)
    return root


Responder = Callable[[dict[str, Any]], str | int]


class OpenAIStandIn:
    """A real HTTP server on loopback speaking the streamed chat-completions protocol.

    `responder(request_json)` returns the reply text, or an HTTP status to fail with. The server records every
    request and the most requests it ever had in flight at once; `delay_s` keeps requests open so they overlap.
    """

    def __init__(self, responder: Responder, *, delay_s: float = 0.0) -> None:
        self.responder, self.delay_s = responder, delay_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # /v1/models, for health checks
                self._send(200, "application/json", json.dumps({"data": [{"id": "stand-in"}]}).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                with stand_in._lock:
                    stand_in.requests.append(body)
                    stand_in.in_flight += 1
                    stand_in.max_in_flight = max(stand_in.max_in_flight, stand_in.in_flight)
                try:
                    time.sleep(stand_in.delay_s)
                    reply = stand_in.responder(body)
                finally:
                    with stand_in._lock:
                        stand_in.in_flight -= 1
                if isinstance(reply, int):
                    error = {"error": {"code": reply, "message": "rejected by the stand-in"}}
                    self._send(reply, "application/json", json.dumps(error).encode())
                    return
                usage = {"usage": {"prompt_tokens": 10, "completion_tokens": len(reply.split())}, "choices": []}
                self._send(200, "text/event-stream", sse(delta(reply), delta(finish="stop"), usage))

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def prompts(self) -> list[str]:
        """The last message of every request, in arrival order."""
        return [r["messages"][-1]["content"] for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
