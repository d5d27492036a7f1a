"""A stand-in OpenAI-compatible server on loopback: scripted agent actions and summaries, streamed as SSE.

The engine reaches it exactly as it reaches vLLM or llama.cpp (URL, streaming client, retries), from this
process, from a `comem` subprocess, or from Ray workers. The agent's action depends only on the step index it
can read from the request (steps covered by a summary + assistant turns shown), so every strategy gets the same
script; the memory model's reply names the first file paths of the summarised steps.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_SCRIPT = [
    {"name": "bash", "arguments": {"command": "ls"}},
    {"name": "bash", "arguments": {"command": "python -c 'print(12345)'"}},
    {"name": "submit", "arguments": {}},
]
_COVERED = re.compile(r'<memory_summary steps="1-(\d+)">')
_PATH = re.compile(r"[\w-]+/[\w/.-]+\.py")


def step_index(messages: list[dict[str, Any]]) -> int:
    covered = 0
    for m in messages:
        if m["role"] == "user" and (found := _COVERED.search(m.get("content") or "")):
            covered = int(found.group(1))
    return covered + sum(m["role"] == "assistant" for m in messages)


class StandInServer:
    """`agent_model` requests get `script[step]` as a JSON tool call; any other model gets a summary."""

    def __init__(self, script: list[dict[str, Any]] | None = None, delay_s: float = 0.0,
                 agent_model: str = "agent") -> None:
        self.script = script or DEFAULT_SCRIPT
        self.delay_s = delay_s
        self.agent_model = agent_model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self._send("application/json", json.dumps({"data": [{"id": server.agent_model}]}).encode())

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                with server._lock:
                    server.requests.append({"model": body["model"], "seed": body.get("seed"),
                                            "step": step_index(body["messages"])})
                time.sleep(server.delay_s)
                text = server.reply(body)
                chunks = [{"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]},
                          {"choices": [], "usage": {"prompt_tokens": sum(len(m["content"]) for m in body["messages"])
                                                    // 4, "completion_tokens": len(text) // 4 + 1}}]
                self._send("text/event-stream",
                           "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n")

            def _send(self, content_type: str, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # clients killed mid-reply (SIGKILL tests)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def reply(self, body: dict[str, Any]) -> str:
        if body["model"] == self.agent_model:
            action = self.script[min(step_index(body["messages"]), len(self.script) - 1)]
            return f"Next I act.\n{json.dumps(action)}"
        prompt = body["messages"][-1]["content"]
        return "The agent ran `ls` and looked at " + ", ".join(dict.fromkeys(_PATH.findall(prompt)[:3])) + "."

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def model_config(server: StandInServer) -> dict[str, Any]:
    """The `agent` and `memory` entries of a config that point at `server`."""
    return {"agent": {"model": server.agent_model, "url": server.url, "max_retries": 0},
            "memory": {"model": "memory", "url": server.url, "max_retries": 0}}
