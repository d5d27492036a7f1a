"""What the gateway tests share: a loopback upstream speaking both chat protocols, and a gateway on a thread.

`ChatUpstream` answers `/v1/chat/completions` and `/v1/messages`, streamed or not as each request asks, with what
`reply(request_json, protocol)` decides: text, a tool call (`("tool", name, arguments)`), or an HTTP status. It
records every request, so a test reads exactly what the upstream received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from comem.gateway.app import Gateway
from comem.gateway.config import GatewayConfig
from comem.gateway.serve import server_config
from comem.llm.base import LLM
from tests.standin import LoopbackServer, Reply, Request

Answer = str | int | tuple[str, str, dict[str, Any]]


def _openai(answer: str | tuple[str, str, dict[str, Any]], stream: bool, model: str) -> Reply:
    usage = {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
             "prompt_tokens_details": {"cached_tokens": 60}}
    if isinstance(answer, tuple):
        call = {"id": "call_1", "type": "function",
                "function": {"name": answer[1], "arguments": json.dumps(answer[2])}}
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": answer}, "stop"
    if not stream:
        body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model, "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
        return Reply(body=json.dumps(body).encode(), content_type="application/json")
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    if isinstance(answer, tuple):
        first = {"role": "assistant", "tool_calls": [{"index": 0, **message["tool_calls"][0]}]}
    else:
        first = {"role": "assistant", "content": answer}
    events = [{**base, "choices": [{"index": 0, "delta": first, "finish_reason": None}]},
              {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
              {**base, "choices": [], "usage": usage}]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return Reply(body=body.encode())


def _anthropic(answer: str | tuple[str, str, dict[str, Any]], stream: bool, model: str) -> Reply:
    if isinstance(answer, tuple):
        block: dict[str, Any] = {"type": "tool_use", "id": "toolu_1", "name": answer[1], "input": answer[2]}
        stop = "tool_use"
    else:
        block, stop = {"type": "text", "text": answer}, "end_turn"
    usage = {"input_tokens": 40, "cache_read_input_tokens": 60, "output_tokens": 5}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [block],
               "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not stream:
        return Reply(body=json.dumps(message).encode(), content_type="application/json")
    start_block = {**block, "input": {}} if block["type"] == "tool_use" else {"type": "text", "text": ""}
    delta = ({"type": "input_json_delta", "partial_json": json.dumps(answer[2])} if isinstance(answer, tuple)
             else {"type": "text_delta", "text": answer})
    events = [
        ("message_start", {"type": "message_start", "message": {**message, "content": [], "stop_reason": None,
                                                                 "usage": {**usage, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start_block}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return Reply(body="".join(f"event: {n}\ndata: {json.dumps(e)}\n\n" for n, e in events).encode())


class ChatUpstream(LoopbackServer):
    def __init__(self, reply: Callable[[dict[str, Any], str], Answer] = lambda body, protocol: "ok",
                 delay_s: float = 0.0) -> None:
        self.reply, self.delay_s = reply, delay_s
        super().__init__(self._answer)
        self.url += "/v1"

    def _answer(self, request: Request) -> Reply:
        if request.method == "GET":
            return Reply(body=json.dumps({"object": "list", "data": [{"id": "up", "object": "model"}]}).encode(),
                         content_type="application/json")
        body = request.json
        protocol = "anthropic" if request.path.endswith("/messages") else "openai"
        answer = self.reply(body, protocol)
        if isinstance(answer, int):
            error = ({"type": "error", "error": {"type": "invalid_request_error", "message": "upstream says no"}}
                     if protocol == "anthropic" else {"error": {"message": "upstream says no", "code": answer}})
            return Reply(status=answer, body=json.dumps(error).encode(), content_type="application/json")
        build = _anthropic if protocol == "anthropic" else _openai
        reply = build(answer, bool(body.get("stream")), body.get("model", "up"))
        reply.delay_s = self.delay_s
        return reply

    def bodies(self, protocol: str | None = None) -> list[dict[str, Any]]:
        """The JSON of every chat request, in arrival order (of one protocol, if given)."""
        return [r.json for r in self.seen if r.method == "POST"
                and (protocol is None or r.path.endswith("/messages") == (protocol == "anthropic"))]


@contextlib.contextmanager
def running_gateway(config: GatewayConfig, upstream_url: str, memory: LLM) -> Iterator[tuple[str, Gateway]]:
    """The gateway app under uvicorn on a thread of its own (so blocking SDK clients can call it), at `/v1`."""
    holder: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        async def main() -> None:
            gateway = Gateway(config, upstream_url, memory)
            server = uvicorn.Server(server_config(gateway, "127.0.0.1", 0))
            holder["gateway"], holder["server"] = gateway, server
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.02)
            if server.started:
                holder["port"] = server.servers[0].sockets[0].getsockname()[1]
            ready.set()
            await task

        try:
            asyncio.run(main())
        finally:
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    if "port" not in holder:
        raise RuntimeError("the gateway did not start")
    try:
        yield f"http://127.0.0.1:{holder['port']}/v1", holder["gateway"]
    finally:
        holder["server"].should_exit = True
        thread.join(30)


def config(tmp_path: Path, **fields: Any) -> GatewayConfig:
    """A gateway configuration for tests: k = 2, summaries from the first request on (min_tokens 0)."""
    arm = fields.pop("arm", {"name": "kso", "k": 2, "late_policy": "wait"})
    return GatewayConfig.model_validate({"out": tmp_path / "gw", "min_tokens": 0, "arm": arm, **fields})
