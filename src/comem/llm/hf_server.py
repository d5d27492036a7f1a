"""An OpenAI-compatible chat server for a Hugging Face checkpoint (transformers generate), e.g. a trained memory model.

`comem train sft|grpo` write plain HF checkpoints; this serves one without converting it, so a `hf:/path` model
spec works wherever a bundled GGUF does. It answers /v1/chat/completions (streamed as SSE, which OpenAIChatClient
always asks for, or as one JSON body), /v1/models and /health. One request generates at a time: it is meant for
CPU evaluation of small models, not throughput. Tool definitions go into the chat template; tool calls come back
as text, which the agent's parser reads like any other completion.

    python -m comem.llm.hf_server --model runs/train/grpo/final --port 8000

`HFServer` runs it as a child process with the embedded llama.cpp server's lifecycle (ready pipe, health wait,
log file, stop on exit, the child exits when its parent disappears).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from comem.llm.embedded import EmbeddedServer

HF_PREFIX = "hf:"


class HFServer(EmbeddedServer):
    """One HF checkpoint behind this module's server on 127.0.0.1 (same interface as EmbeddedServer)."""

    load_fix = "check that the directory is a complete checkpoint (config.json, weights, tokenizer) for transformers"

    def _check_runtime(self) -> None:
        from comem.llm.checkpoint import check_checkpoint, require_train_extra

        require_train_extra(("torch", "transformers"))
        check_checkpoint(self.model_path)

    def _command(self, ready_fd: int) -> list[str]:
        return [
            sys.executable, "-m", "comem.llm.hf_server",
            "--model", str(self.model_path), "--alias", self.alias,
            "--n-ctx", str(self.n_ctx), "--threads", str(self.n_threads), "--port", str(self.port or 0),
            "--ready-fd", str(ready_fd), "--parent-pid", str(os.getpid()),
        ]  # fmt: skip


class ChatRequest(BaseModel):
    """The subset of the OpenAI chat request this server honours; other fields (e.g. ignore_eos) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = ""
    messages: list[dict[str, Any]] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)

    def stops(self) -> list[str]:
        return [s for s in ([self.stop] if isinstance(self.stop, str) else self.stop or []) if s]


class StopCutter:
    """Holds back streamed text that could be the start of a stop string; cuts the text at the first stop."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.text = ""
        self.sent = 0
        self.hit = False

    def feed(self, piece: str) -> str:
        if self.hit:
            return ""
        self.text += piece
        cut = min((i for s in self.stops if (i := self.text.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.hit = True
            self.text = self.text[:cut]
            return self._flush(len(self.text))
        return self._flush(max(self.sent, len(self.text) - self.hold))

    def finish(self) -> str:
        return self._flush(len(self.text))

    def _flush(self, upto: int) -> str:
        out, self.sent = self.text[self.sent:upto], max(self.sent, upto)
        return out


class Generator:
    """The model and tokenizer, and one generation at a time."""

    def __init__(self, model_dir: Path, n_ctx: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32").eval()
        self.n_ctx = n_ctx
        self.lock = asyncio.Lock()

    def encode(self, request: ChatRequest) -> list[int]:
        enc = self.tokenizer.apply_chat_template(
            [_template_message(m) for m in request.messages], tools=request.tools, add_generation_prompt=True,
            tokenize=True, return_dict=True,
        )
        return list(enc["input_ids"])

    def generate(self, request: ChatRequest, prompt: list[int], cancel: threading.Event, usage: dict[str, Any]) \
            -> Iterator[str]:
        """Yield decoded text pieces while transformers generates in a thread; fill `usage` when done."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        budget = request.max_completion_tokens or request.max_tokens or self.n_ctx - len(prompt)
        max_new = max(1, min(budget, self.n_ctx - len(prompt)))
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        sampling = {"do_sample": True, "temperature": request.temperature, "top_p": request.top_p, "top_k": 0} \
            if request.temperature > 0 else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        stops = request.stops()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                with torch.inference_mode():
                    out = self.model.generate(
                        input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                        max_new_tokens=max_new, streamer=streamer, tokenizer=self.tokenizer,
                        stopping_criteria=StoppingCriteriaList([Cancelled()]), stop_strings=stops or None, **sampling,
                    )
                result["ids"] = out[0, len(prompt):].tolist()
            except BaseException as exc:  # surfaced to the request below; the streamer must still end
                result["error"] = exc
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from streamer
        worker.join()
        if "error" in result:
            raise result["error"]
        ids = result["ids"]
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        usage.update(prompt_tokens=len(prompt), completion_tokens=len(ids), total_tokens=len(prompt) + len(ids),
                     length=len(ids) >= max_new and not (ids and ids[-1] in eos_ids))


def build_app(generator: Generator, alias: str) -> Any:
    """The FastAPI app: the three routes OpenAI clients and our health checks use."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI(title="comem hf_server")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": alias, "object": "model", "owned_by": "comem"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: ChatRequest) -> Any:
        try:
            prompt = generator.encode(request)
        except Exception as exc:  # a template that rejects these messages (roles, tools)
            return _error(400, f"cannot apply the chat template: {exc}")
        if len(prompt) >= generator.n_ctx:
            return _error(400, f"the prompt has {len(prompt)} tokens; this server's context is {generator.n_ctx}")
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": alias}
        if request.stream:
            return StreamingResponse(_sse(generator, request, prompt, head), media_type="text/event-stream")
        cutter, usage = StopCutter(request.stops()), {}
        async with generator.lock:
            text = "".join([cutter.feed(p) async for p in _pieces(generator, request, prompt, usage)]) + cutter.finish()
        return JSONResponse({**head, "object": "chat.completion", "usage": _usage(usage), "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text},
             "finish_reason": _finish(usage, cutter)}]})

    def _error(status: int, message: str) -> Any:
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)

    return app


async def _pieces(generator: Generator, request: ChatRequest, prompt: list[int], usage: dict[str, Any]) \
        -> AsyncIterator[str]:
    """The blocking generator's pieces, pulled off the event loop; cancels generation if the client goes away."""
    cancel = threading.Event()
    pieces = generator.generate(request, prompt, cancel, usage)
    done = object()
    try:
        while (piece := await asyncio.to_thread(next, pieces, done)) is not done:
            yield piece  # type: ignore[misc]
    finally:
        cancel.set()
        await asyncio.to_thread(lambda: list(pieces))  # let the worker thread finish before the lock is released


async def _sse(generator: Generator, request: ChatRequest, prompt: list[int], head: dict[str, Any]) \
        -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {**head, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n"

    cutter, usage = StopCutter(request.stops()), {}
    async with generator.lock:
        yield chunk({"role": "assistant", "content": ""})
        async for piece in _pieces(generator, request, prompt, usage):
            if text := cutter.feed(piece):
                yield chunk({"content": text})
        if text := cutter.finish():
            yield chunk({"content": text})
    yield chunk({}, _finish(usage, cutter))
    if (request.stream_options or {}).get("include_usage"):
        last = {**head, "object": "chat.completion.chunk", "choices": [], "usage": _usage(usage)}
        yield f"data: {json.dumps(last)}\n\n"
    yield "data: [DONE]\n\n"


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    return {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _finish(usage: dict[str, Any], cutter: StopCutter) -> str:
    return "length" if usage.get("length") and not cutter.hit else "stop"


def _template_message(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI message -> what HF chat templates expect: text content, tool-call arguments as a dict."""
    out = dict(message)
    content = out.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        out["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    elif content is None:
        out["content"] = ""
    calls = []
    for call in out.get("tool_calls") or []:
        function = dict(call.get("function") or {})
        if isinstance(function.get("arguments"), str):
            with contextlib.suppress(json.JSONDecodeError):
                function["arguments"] = json.loads(function["arguments"])
        calls.append({**call, "function": function})
    if calls:
        out["tool_calls"] = calls
    return out


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m comem.llm.hf_server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a Hugging Face checkpoint directory")
    ap.add_argument("--alias", default=None, help="the model name to answer to (default: the directory name)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0 lets the OS pick a free port")
    ap.add_argument("--n-ctx", type=int, default=16384, help="longest prompt + completion, in tokens")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--ready-fd", type=int, default=None, help="write the listening address here once serving")
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import torch
    import uvicorn

    torch.set_num_threads(args.threads)
    model_dir = Path(args.model)
    try:
        generator = Generator(model_dir, args.n_ctx)
    except Exception as exc:  # transformers raises OSError/ValueError/safetensors errors for broken checkpoints
        print(f"comem: model failed to load: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(64)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(build_app(generator, args.alias or model_dir.name), log_level="warning"))
    if args.ready_fd is not None:
        with os.fdopen(args.ready_fd, "w") as ready:
            ready.write(f"http://{host}:{port}\n")
    else:
        print(f"comem hf_server: serving {model_dir} at http://{host}:{port}/v1", file=sys.stderr, flush=True)
    if args.parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(server, args.parent_pid), daemon=True).start()
    server.run(sockets=[sock])
    return 0


def _exit_with_parent(server: Any, parent_pid: int) -> None:
    while not server.should_exit:
        if os.getppid() != parent_pid:
            server.should_exit = True
        time.sleep(0.25)


if __name__ == "__main__":
    sys.exit(main())
