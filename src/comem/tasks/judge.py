"""Is a submitted answer correct? A normalised-match fast path, then an LLM judge in the BrowseComp grader style.

The judge reads the question, the response and the reference answer and writes four fields: the answer it
extracted, its reasoning, `correct: yes|no` and a confidence. It runs at temperature 0 and, where the server
supports it, under a JSON schema so even a small model's reply parses; plain `field: value` lines, JSON and a
bare leading yes/no are all understood. A match after normalisation (case, punctuation, whitespace, thousands
separators, units of money and percent, the order of comma lists) is correct without asking anyone.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

from pydantic import BaseModel

from comem.core.records import Message
from comem.llm.base import LLM, LLMError

_THOUSANDS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_FIELD = r"(?im)^[\s>*_#\"'-]*{name}[\"'\s*_]*[:=][\s*_]*(.*)$"  # also a line of JSON cut off mid-object

JUDGE_PROMPT = """\
You grade answers. Decide whether the [response] to the [question] gives the same final answer as the \
[reference answer]. Do not solve the question yourself and do not argue for another answer: only compare.

[question]: {question}

[response]: {response}

[reference answer]: {reference}

Reply with exactly these four fields:
extracted_final_answer: the final answer stated in the [response], copied exactly; None if it states none.
reasoning: one or two sentences on whether extracted_final_answer and the [reference answer] mean the same \
thing. Differences in wording, case or formatting do not matter; a different entity, number or date does. \
Numbers may differ by a small rounding margin.
correct: yes if extracted_final_answer matches the [reference answer], otherwise no (also when the response \
is vague, hedges between several answers, or gives none).
confidence: the confidence the [response] itself states, as a number from 0 to 100; 100 if it states none.
"""

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "extracted_final_answer": {"type": "string"},
        "reasoning": {"type": "string"},
        "correct": {"type": "string", "enum": ["yes", "no"]},
        "confidence": {"type": "integer"},
    },
    "required": ["extracted_final_answer", "reasoning", "correct", "confidence"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "judgement", "strict": True, "schema": JUDGE_SCHEMA}}


class Judgement(BaseModel):
    """A verdict on one answer. `correct` is None when the judge could not be asked or its reply said nothing."""

    correct: bool | None
    method: Literal["match", "llm", "none"]  # "none": no judge was available and the answers did not match
    extracted_answer: str | None = None
    reasoning: str = ""
    confidence: int | None = None
    raw: str = ""  # the judge's reply, verbatim
    error: str | None = None


def parse_number(text: str) -> float | None:
    """A finite number from "1,284", "$3.5", "12%" or "-5"; None for anything else (docs/method.md §7)."""
    cleaned = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text.strip().lower())
    cleaned = cleaned.removesuffix("%").lstrip("$€£").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def normalise_answer(text: str) -> str:
    """Lower case, punctuation other than commas removed, whitespace collapsed (docs/method.md §7)."""
    return " ".join(re.sub(r"[^\w\s,]", "", text.strip().lower()).split())


def answers_match(answer: str, reference: str) -> bool:
    """Equal as numbers, as normalised text, or as comma lists in any order."""
    if not answer.strip() or not reference.strip():
        return False
    a, b = parse_number(answer), parse_number(reference)
    if a is not None and b is not None:
        return a == b
    norm_a, norm_b = normalise_answer(answer), normalise_answer(reference)
    if norm_a == norm_b:
        return True
    items_a = sorted(p.strip() for p in norm_a.split(",") if p.strip())
    items_b = sorted(p.strip() for p in norm_b.split(",") if p.strip())
    return len(items_a) > 1 and items_a == items_b


def _field(text: str, name: str) -> str | None:
    found = re.findall(_FIELD.replace("{name}", name), text)
    return found[-1].strip().removesuffix(",").strip("*_\"' ") if found else None


def _yes_no(value: Any) -> bool | None:
    """The verdict in the first word of `value`: yes/no, true/false, correct/incorrect."""
    first = re.match(r"\W*(\w+)", str(value))
    word = first.group(1).lower() if first else ""
    return {"yes": True, "true": True, "correct": True, "no": False, "false": False, "incorrect": False}.get(word)


def _confidence(value: Any) -> int | None:
    found = re.search(r"\d+", str(value)) if value is not None else None
    return max(0, min(100, int(found.group(0)))) if found else None


def parse_judgement(reply: str) -> Judgement:
    """Read a judge's reply: JSON, `field: value` lines, or (last resort) a reply that starts with yes/no."""
    data: dict[str, Any] | None = None
    start, end = reply.find("{"), reply.rfind("}")
    if start != -1 and end > start:
        try:
            loaded = json.loads(reply[start:end + 1])
            data = loaded if isinstance(loaded, dict) else None
        except json.JSONDecodeError:
            data = None
    if data is None or "correct" not in data:
        data = {key: _field(reply, key) for key in ("extracted_final_answer", "reasoning", "correct", "confidence")}
    correct = _yes_no(data["correct"]) if data.get("correct") is not None else None
    if correct is None and data.get("correct") is None:
        correct = _yes_no(reply)
    extracted = data.get("extracted_final_answer")
    extracted = None if extracted is None or str(extracted).strip().lower() in ("", "none") else str(extracted)
    return Judgement(
        correct=correct, method="llm", extracted_answer=extracted, reasoning=str(data.get("reasoning") or ""),
        confidence=_confidence(data.get("confidence")), raw=reply,
        error=None if correct is not None else "the judge's reply has no `correct: yes|no`",
    )


async def judge_answer(question: str, answer: str, reference: str, llm: LLM | None, *,
                       max_tokens: int = 512, structured: bool = True) -> Judgement:
    """Grade `answer` against `reference`. A normalised match never calls the judge; no judge means no match."""
    if answers_match(answer, reference):
        return Judgement(correct=True, method="match", extracted_answer=answer,
                         reasoning="The answer equals the reference after normalisation.")
    if not answer.strip():
        return Judgement(correct=False, method="match", reasoning="No answer was given.")
    if llm is None:
        return Judgement(correct=False, method="none", extracted_answer=answer,
                         reasoning="No LLM judge is configured and the answer does not match the reference "
                                   "after normalisation (set COMEM_JUDGE_URL to judge semantic matches).")
    prompt = JUDGE_PROMPT.format(question=question.strip(), response=answer.strip(), reference=reference.strip())
    messages = [Message(role="user", content=prompt)]
    try:
        try:
            done = await llm.chat(messages, max_tokens=max_tokens, temperature=0.0,
                                  response_format=RESPONSE_FORMAT if structured else None)
        except LLMError as error:
            if not structured or "HTTP 400" not in str(error):
                raise
            # A server without JSON-schema support refuses the request; ask again in plain text.
            done = await llm.chat(messages, max_tokens=max_tokens, temperature=0.0)
    except LLMError as error:
        return Judgement(correct=None, method="llm", error=f"judge call failed: {error}")
    return parse_judgement(done.text)
