"""Measure the engine curve on the user's own machine, and the kso bound it implies (`comem bench curve`).

On a CPU a single agent pays for every prompt token it computes and for every cached token its attention reads.
kso trades a growing cached history for a bounded prompt that is partly recomputed after each summary install, so
whether it can win at all depends on this engine's costs. The curve: append T new tokens to a cached prefix of C
tokens and decode D, over a small grid of C (one warm-up of the longest prefix; shorter ones are its prefixes,
measured longest first), and full re-prefills of a few prompt lengths. The formulas are `comem.core.metrics`
(`EngineCurve`, `kso_bound`).
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from comem.bench.records import StepRow
from comem.core.errors import ComemError
from comem.core.metrics import BASELINE, EngineCurve, HorizonShape
from comem.core.records import Message
from comem.llm.base import LLM

PREFIXES = (8192, 4096, 2048, 512)
PREFILLS = (512, 1536)
NEW_TOKENS = 300
OUTPUT_TOKENS = 80


class CurvePoint(BaseModel):
    """One measured call."""

    kind: Literal["append", "prefill"]
    cached_tokens: int  # as the engine reported them
    new_tokens: int  # prompt tokens it computed
    output_tokens: int
    ttft_s: float
    total_s: float


class CurveResult(BaseModel):
    curve: EngineCurve
    points: list[CurvePoint]
    load: tuple[float, float] | None = None  # the machine's 1-minute load average before and after


_VOCABULARY = ("the of and to in is it that for on with as was at by this be from or have an are not but had his "
               "they you were her she all there one which their can said if will each about how up out them then "
               "many some so these would other into has more two time could no way like than first been call who "
               "its now find long down day did get come made may part over new sound take only little work know "
               "place year live me back give most very after thing our just name good sentence man think say "
               "great where help through much before line right too mean old any same tell boy follow came want "
               "show also around form three small set put end does another well large must big even such because "
               "turn here why ask went men read need land different home us move try kind hand picture again "
               "change off play spell air away animal house point page letter mother answer found study still "
               "learn should world high every near add food between own below country plant last school father "
               "keep tree never start city earth eye light thought head under story saw left few while along "
               "might close something seem next hard open example begin life always those both paper together "
               "got group often run important until children side feet car mile night walk white sea began grow "
               "took river four carry state once book hear stop without second later miss idea enough eat face "
               "watch far real almost let above girl sometimes mountain cut young talk soon list song being "
               "leave family")
_WORDS = _VOCABULARY.split()


def filler(tokens: int, seed: str) -> str:
    """Deterministic text of about `tokens` tokens (common English words, one token each in the bundled
    tokenizers, in a seeded order), so no other prompt shares it."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(tokens))


async def _call(llm: LLM, messages: list[Message], output: int, kind: Literal["append", "prefill"]) -> CurvePoint:
    done = await llm.chat(messages, max_tokens=output, temperature=0.0)
    if done.cached_tokens is None:
        raise ComemError(f"{llm.model} does not report cached prompt tokens, so its curve cannot be measured.",
                         fix="measure an embedded model or a llama.cpp server (they report them).")
    return CurvePoint(kind=kind, cached_tokens=done.cached_tokens, new_tokens=done.prompt_tokens - done.cached_tokens,
                      output_tokens=done.completion_tokens, ttft_s=done.ttft_s, total_s=done.total_s)


async def measure_curve(llm: LLM, *, threads: int | None, prefixes: Sequence[int] = PREFIXES,
                        prefills: Sequence[int] = PREFILLS, new_tokens: int = NEW_TOKENS,
                        output_tokens: int = OUTPUT_TOKENS, repeats: int = 1) -> CurveResult:
    """The curve of `llm` (an engine that forces output lengths, e.g. with ignore_eos): see the module docstring.
    Each point is measured `repeats` times (fresh new text each time); the lines are fitted to every call."""
    sizes = (*prefixes, *prefills, new_tokens, output_tokens, repeats)
    if len(set(prefixes)) < 2 or len(set(prefills)) < 2 or min(sizes) < 1:
        raise ComemError(f"The curve needs two or more distinct prefix sizes and prefill sizes, all >= 1 (got "
                         f"prefixes {list(prefixes)}, prefills {list(prefills)}).",
                         fix="pass e.g. --prefixes 512,2048,4096 --prefills 512,1536.")
    tag = uuid.uuid4().hex[:8]
    longest = filler(max(prefixes), tag)
    query = Message(role="user", content="Continue the list.")
    await llm.chat([Message(role="system", content=longest), query], max_tokens=1, temperature=0.0)  # warm-up
    points = []
    for size in sorted(set(prefixes), reverse=True):  # each a prefix of the one before: served from the cache
        head = " ".join(longest.split(" ")[:size])
        for r in range(repeats):
            new = filler(new_tokens, f"{tag}{size}/{r}")
            points.append(await _call(llm, [Message(role="system", content=head),
                                            Message(role="user", content=new)], output_tokens, "append"))
    for size in sorted(set(prefills)):
        for _ in range(repeats):
            fresh = filler(size, uuid.uuid4().hex[:8])
            points.append(await _call(llm, [Message(role="system", content=fresh), query], output_tokens, "prefill"))
    return CurveResult(curve=fit_curve(points, llm.model, threads, new_tokens, output_tokens), points=points)


def fit_curve(points: Sequence[CurvePoint], model: str, threads: int | None, new_tokens: int,
              output_tokens: int) -> EngineCurve:
    """Least-squares lines: append cost over cached tokens, re-prefill cost over prompt tokens."""
    append = [p for p in points if p.kind == "append"]
    prefill = [p for p in points if p.kind == "prefill"]
    if len({p.cached_tokens for p in append}) < 2 or len({p.new_tokens for p in prefill}) < 2:
        raise ComemError("The engine served too few distinct cached prefixes or prompt lengths to fit its curve.",
                         fix="check that the engine caches prompt prefixes (llama.cpp: cache_prompt).")
    b, a = statistics.linear_regression([p.cached_tokens for p in append], [p.total_s for p in append])
    p_new, r0 = statistics.linear_regression([p.new_tokens for p in prefill], [p.total_s for p in prefill])
    return EngineCurve(model=model, threads=threads, new_tokens=new_tokens, output_tokens=output_tokens,
                       append_s=a, per_cached_s=b, per_new_s=p_new, prefill_s=r0)


def shape_from_replay(rows: Sequence[StepRow], summary_tokens: int) -> tuple[HorizonShape, int]:
    """The bound's trajectory shape and step count from a replay's `full` rows: the head is the median first
    prompt, a step the median growth of the prompt per step, the tool time the mean; steps the longest episode."""
    base = [r for r in rows if r.arm == BASELINE]
    if not base:
        raise ComemError("The replay has no `full` rows to take the trajectory shape from.",
                         fix="replay the full arm too (--arms full,...).")
    by_episode: dict[tuple[int, int, str, int], list[StepRow]] = {}
    for r in base:
        by_episode.setdefault((*r.episode, r.concurrency), []).append(r)
    heads, growth = [], []
    for episode in by_episode.values():
        episode.sort(key=lambda r: r.step)
        heads.append(episode[0].prompt_tokens)
        if len(episode) > 1:
            growth.append((episode[-1].prompt_tokens - episode[0].prompt_tokens) / (len(episode) - 1))
    shape = HorizonShape(head_tokens=round(statistics.median(heads)),
                         step_tokens=round(statistics.median(growth)) if growth else NEW_TOKENS,
                         summary_tokens=summary_tokens, tool_s=statistics.fmean(r.tool_s for r in base))
    return shape, max(len(e) for e in by_episode.values())
