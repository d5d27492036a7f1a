"""The HF checkpoint server: OpenAI-compatible streaming with usage, stop strings, `hf:` specs, and bad checkpoints.

A real server process on loopback serves the tiny random Llama (SmolLM2's tokenizer) through transformers.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from comem.core.errors import ComemError
from comem.core.records import Message
from comem.llm.base import LLMError
from comem.llm.endpoint import ModelConfig
from comem.llm.hf_server import HFServer, StopCutter
from tests.train.trainers.helpers import tiny_model  # skips without the train extra

QUESTION = [Message(role="system", content="Be brief."), Message(role="user", content="What is 2+2?")]


def test_stop_cutter_holds_back_a_possible_stop_and_cuts_at_it() -> None:
    cutter = StopCutter(["</summary>", "STOP"])
    assert cutter.feed("The agent ran ") == "The a"  # 9 chars held back: they could begin </summary>
    assert cutter.feed("ls.</sum") == "gent ran"
    assert cutter.feed("mary> tail") == " ls."  # cut at the stop, which is never sent
    assert cutter.hit and cutter.feed("more") == "" and cutter.finish() == ""
    plain = StopCutter([])
    assert plain.feed("abc") == "abc" and plain.finish() == "" and not plain.hit


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def server(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HFServer]:
    log = tmp_path_factory.mktemp("hf-log") / "server.log"
    with HFServer(tiny, alias="memory:tiny", n_ctx=512, n_threads=1, log_path=log) as running:
        yield running


async def _chat(server: HFServer, messages: list[Message], **kwargs: object) -> object:
    client = server.client(timeout_s=120, max_retries=0)
    try:
        return await client.chat(messages, **kwargs)
    finally:
        await client.aclose()


@pytest.mark.slow
def test_streamed_chat_counts_tokens_and_greedy_is_repeatable(server: HFServer, tiny: Path) -> None:
    from transformers import AutoTokenizer

    first = asyncio.run(_chat(server, QUESTION, max_tokens=6, temperature=0.0))
    again = asyncio.run(_chat(server, QUESTION, max_tokens=6, temperature=0.0))
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    prompt = tokenizer.apply_chat_template([m.model_dump(include={"role", "content"}) for m in QUESTION],
                                           add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    assert first.prompt_tokens == len(prompt)
    assert 1 <= first.completion_tokens <= 6 and first.finish_reason in ("stop", "length")
    assert (again.text, again.completion_tokens) == (first.text, first.completion_tokens)
    assert 0 < first.ttft_s <= first.total_s
    sampled = asyncio.run(_chat(server, QUESTION, max_tokens=4, temperature=1.0))
    assert 1 <= sampled.completion_tokens <= 4


@pytest.mark.slow
def test_stop_strings_and_plain_json_answers(server: HFServer) -> None:
    url = f"{server.base_url}/chat/completions"
    body = {"messages": [{"role": "user", "content": "Say something."}], "max_tokens": 16, "temperature": 1.0,
            "seed": 7}
    plain = httpx.post(url, json=body, timeout=120).json()
    text = plain["choices"][0]["message"]["content"]
    assert plain["usage"]["total_tokens"] == plain["usage"]["prompt_tokens"] + plain["usage"]["completion_tokens"]
    assert plain["model"] == "memory:tiny" and plain["object"] == "chat.completion"
    assert httpx.post(url, json=body, timeout=120).json()["choices"][0]["message"]["content"] == text  # same seed
    assert len(text.strip()) >= 4  # sampled random-model tokens: words, not special tokens
    stop = text.strip()[2:4]
    cut = httpx.post(url, json={**body, "stop": [stop]}, timeout=120).json()["choices"][0]
    assert cut["message"]["content"] == text[:text.find(stop)] and cut["finish_reason"] == "stop"


@pytest.mark.slow
def test_health_models_and_bad_requests(server: HFServer) -> None:
    base = server.base_url.removesuffix("/v1")
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    assert [m["id"] for m in httpx.get(f"{server.base_url}/models", timeout=10).json()["data"]] == ["memory:tiny"]
    url = f"{server.base_url}/chat/completions"
    assert httpx.post(url, json={"messages": []}, timeout=10).status_code == 422
    assert httpx.post(url, json={"messages": [{"role": "user", "content": "x"}], "n": 2}, timeout=10).status_code \
        == 422
    too_long = httpx.post(url, json={"messages": [{"role": "user", "content": "word " * 600}]}, timeout=30)
    assert too_long.status_code == 400 and "context" in too_long.json()["error"]["message"]
    with pytest.raises(LLMError, match="HTTP 400"):
        asyncio.run(_chat(server, [Message(role="user", content="word " * 600)], max_tokens=4))


@pytest.mark.slow
def test_hf_spec_opens_a_served_checkpoint_and_stops_it(tiny: Path, tmp_path: Path) -> None:
    from comem.llm.open import open_model

    async def go() -> tuple[object, str]:
        async with open_model(ModelConfig(model=f"hf:{tiny}", n_ctx=512, max_retries=0), "memory", tmp_path, 1) \
                as llm:
            return await llm.chat(QUESTION, max_tokens=3, temperature=0.0), llm.model

    answer, model = asyncio.run(go())
    assert model == f"memory:{tiny.name}" and 1 <= answer.completion_tokens <= 3
    assert (tmp_path / "memory-server.log").is_file()


@pytest.mark.slow
def test_corrupt_checkpoints_are_comem_errors(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist"):
        HFServer(tmp_path / "missing", alias="m").start()
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ComemError, match="model failed to load") as info:
        HFServer(broken, alias="m", log_path=tmp_path / "broken.log").start()
    assert "broken.log" in info.value.fix
