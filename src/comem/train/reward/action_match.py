"""Action consistency: how close the agent's next action is to the reference action, in [0, 10].

A pure port of the reward of docs/method.md §7 with the fixes listed in §10: 0.4 for the tool name plus 0.6
for a weighted mean of per-argument similarities over the union of both sides' keys (a key one side lacks
compares as ""), capped at 0.35 when the tool name is wrong, times 10.

One deliberate mapping: the original's bash tool is `execute_bash(cmd=...)`, ours is `bash(command=...)`, and
`command` is also the file_editor/finish subcommand (weight 1.2, exact match). Each side is therefore first
written in the original's vocabulary: the `command` argument of a bash tool becomes `cmd` (weight 1.0,
`_cmd_sim`); every other `command` stays the subcommand. Rules are then chosen by key alone, so a bash call
against a file_editor call compares `cmd` with "" and `command` with "", as the original would.

Text rules follow Python's Unicode semantics throughout (str.strip/lower/split/splitlines, and `\\s`, `\\w`,
`\\d` in the code-token regex), so non-ASCII code and words are tokenised as the original tokenised them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal
from urllib.parse import urlparse

from comem.core.actions import parse_xml_action
from comem.core.records import ToolCall

__all__ = ["ActionScore", "Variant", "action_consistency", "parse_xml_action", "score_actions"]

Variant = Literal["swe", "browsecomp"]
BASH_TOOLS = frozenset({"bash", "execute_bash"})  # tools whose `command` is a shell command line
NAME_WEIGHT, PARAM_WEIGHT, WRONG_NAME_CAP, SCALE = 0.4, 0.6, 0.35, 10.0


@dataclass(frozen=True)
class ActionScore:
    """The reward and what made it: `per_key` maps each compared argument key to its similarity in [0, 1]."""

    reward: float
    name_match: bool
    param_score: float
    per_key: dict[str, float] = field(default_factory=dict)


def _ratio(pred: str, ref: str) -> float:
    """difflib ratio, prediction first (the ratio is not symmetric)."""
    return SequenceMatcher(None, pred, ref).ratio()


def _jaccard(a: set[str], b: set[str], *, both_empty: float = 1.0) -> float:
    if not a and not b:
        return both_empty
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def _string_sim(pred: str, ref: str, *, booleans: bool) -> float:
    pred, ref = pred.strip(), ref.strip()
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    p, r = pred.lower(), ref.lower()
    if booleans and p in _TRUE | _FALSE and r in _TRUE | _FALSE:
        return float((p in _TRUE) == (r in _TRUE))
    return _ratio(p, r)


def _swe_string_sim(pred: str, ref: str) -> float:
    return _string_sim(pred, ref, booleans=True)


def _web_string_sim(pred: str, ref: str) -> float:
    return _string_sim(pred, ref, booleans=False)


def _command_sim(pred: str, ref: str) -> float:
    """A file_editor subcommand: right or wrong (a missing side is wrong too)."""
    return 1.0 if pred.strip().lower() == ref.strip().lower() else 0.2


def _path_sim(pred: str, ref: str) -> float:
    pred, ref = pred.strip(), ref.strip()
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    prefix = len(os.path.commonprefix((pred, ref)))
    parts = _jaccard({p for p in pred.split("/") if p}, {p for p in ref.split("/") if p}, both_empty=0.0)
    return 0.7 * prefix / max(len(pred), len(ref)) + 0.3 * parts


_ALIASES = {"python3": "python", "python2": "python", "pip3": "pip", "pip2": "pip"}


def _path_like(token: str) -> bool:
    return "/" in token or token.endswith((".py", ".sh"))


def _cmd_sim(pred: str, ref: str) -> float:
    pred, ref = pred.strip(), ref.strip()
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    (p_prog, *p_args), (r_prog, *r_args) = pred.split(), ref.split()
    program = float(_ALIASES.get(p_prog.lower(), p_prog.lower()) == _ALIASES.get(r_prog.lower(), r_prog.lower()))
    args = _jaccard(set(p_args), set(r_args))
    p_path = next((t for t in p_args if _path_like(t)), None)
    r_path = next((t for t in r_args if _path_like(t)), None)
    if p_path is not None and r_path is not None:
        args = 0.5 * args + 0.5 * _path_sim(p_path, r_path)
    return 0.4 * program + 0.6 * args


_CODE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\s\w]")  # ASCII names; Unicode \s \w \d
_HALF_CUT = 2500


def _normalise_code(text: str) -> str:
    return "\n".join(line for line in (raw.strip() for raw in text.splitlines()) if line)


def _cut(text: str) -> str:
    """A side over 5000 chars is compared as its first 2500 + last 2500 chars (each side on its own)."""
    return text if len(text) <= 2 * _HALF_CUT else text[:_HALF_CUT] + text[-_HALF_CUT:]


def _code_parts(pred: str, ref: str) -> tuple[float, float, float] | float:
    """(seq, tok, line), or a final score when the texts are equal or one is empty."""
    if pred.strip() == ref.strip():
        return 1.0
    if not pred.strip() or not ref.strip():
        return 0.0
    p, r = _normalise_code(pred), _normalise_code(ref)
    if p == r:
        return 1.0
    seq = _ratio(_cut(p), _cut(r))
    tok = _jaccard(set(_CODE_TOKEN.findall(p.lower())), set(_CODE_TOKEN.findall(r.lower())))
    line = _jaccard(set(p.split("\n")), set(r.split("\n")))
    return seq, tok, line


def _strict_code_sim(pred: str, ref: str) -> float:
    parts = _code_parts(pred, ref)
    if isinstance(parts, float):
        return parts
    seq, tok, _ = parts
    return 0.7 * seq + 0.3 * tok


def _lenient_code_sim(pred: str, ref: str) -> float:
    parts = _code_parts(pred, ref)
    if isinstance(parts, float):
        return parts
    seq, tok, line = parts
    return 0.30 * seq + 0.45 * tok + 0.25 * line


def _words(text: str) -> set[str]:
    return set(text.strip().lower().split())


def _search_term_sim(pred: str, ref: str) -> float:
    return 0.6 * _jaccard(_words(pred), _words(ref)) + 0.4 * _swe_string_sim(pred, ref)


_PHRASE = re.compile(r'"([^"]+)"')


def _query_sim(pred: str, ref: str) -> float:
    pred, ref = pred.strip().lower(), ref.strip().lower()
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    p_phrases, r_phrases = set(_PHRASE.findall(pred)), set(_PHRASE.findall(ref))
    if not p_phrases and not r_phrases:
        phrases = 1.0
    elif not p_phrases or not r_phrases:
        phrases = 0.5
    else:
        phrases = _jaccard(p_phrases, r_phrases)
    return 0.5 * _jaccard(set(pred.split()), set(ref.split())) + 0.3 * _ratio(pred, ref) + 0.2 * phrases


def _domain_and_segments(url: str) -> tuple[str, set[str]]:
    parsed = urlparse(url if "://" in url else f"https://{url}")
    domain = parsed.netloc.lower().removeprefix("www.")  # exactly one "www." (the original's lstrip ate any w/.)
    return domain, {s for s in parsed.path.split("/") if s}


def _url_sim(pred: str, ref: str) -> float:
    pred, ref = pred.strip().rstrip("/"), ref.strip().rstrip("/")
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    try:
        (p_domain, p_path), (r_domain, r_path) = _domain_and_segments(pred), _domain_and_segments(ref)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return _web_string_sim(pred, ref)
    path = _jaccard(p_path, r_path)
    return 0.5 + 0.5 * path if p_domain == r_domain else 0.15 * path


# Thousands separators: every run of the form 1,234 or 12,345,678 loses its commas (so 1234,567 reads as 1234567).
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_NOT_WORD = re.compile(r"[^\w\s,]")


def _number(text: str) -> float | None:
    """A finite number from lowered, stripped answer text: 1,234 / 12% / $5 / -3.5e2; None when it is not one."""
    text = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text).removesuffix("%")
    if text[:1] in ("$", "€", "£"):
        text = text[1:]
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _list_items(text: str) -> list[str]:
    return sorted(item.strip() for item in text.split(",") if item.strip())


def _answer_sim(pred: str, ref: str) -> float:
    pred, ref = pred.strip(), ref.strip()
    if pred == ref:
        return 1.0
    if not pred or not ref:
        return 0.0
    p_raw, r_raw = pred.lower(), ref.lower()
    p_num, r_num = _number(p_raw), _number(r_raw)
    if p_num is not None and r_num is not None:
        if p_num == r_num:
            return 1.0
        rel = abs(p_num - r_num) / max(abs(p_num), abs(r_num), 1e-9)
        if rel < 0.01:
            return 0.95
        if rel < 0.05:
            return 0.8
        return _ratio(p_raw, r_raw)
    p_norm, r_norm = (" ".join(_NOT_WORD.sub("", t).split()) for t in (p_raw, r_raw))
    if p_norm == r_norm:
        return 1.0
    p_items, r_items = _list_items(p_norm), _list_items(r_norm)
    if (len(p_items) >= 2 or len(r_items) >= 2) and p_items and r_items:
        if p_items == r_items:
            return 1.0
        return max(_jaccard(set(p_items), set(r_items)), _web_string_sim(", ".join(p_items), ", ".join(r_items)))
    return _ratio(p_norm, r_norm)


Sim = Callable[[str, str], float]
_SWE_RULES: dict[str, tuple[float, Sim]] = {
    "command": (1.2, _command_sim),
    "cmd": (1.0, _cmd_sim),
    "path": (1.0, _path_sim),
    "old_str": (1.0, _strict_code_sim),
    "new_str": (0.9, _lenient_code_sim),
    "file_text": (0.8, _lenient_code_sim),
    "search_term": (0.9, _search_term_sim),
    "view_range": (0.6, _swe_string_sim),
    "concise": (0.5, _swe_string_sim),
}
_SWE_OTHER: tuple[float, Sim] = (0.7, _swe_string_sim)
_WEB_RULES: dict[str, tuple[float, Sim]] = {
    "q": (1.0, _query_sim),
    "url": (1.0, _url_sim),
    "answer": (1.0, _answer_sim),
    "gl": (0.2, _web_string_sim),
    "hl": (0.2, _web_string_sim),
    "num": (0.1, _web_string_sim),
    "tbs": (0.3, _web_string_sim),
}
_WEB_OTHER: tuple[float, Sim] = (0.3, _web_string_sim)


def _rule(variant: Variant, key: str) -> tuple[float, Sim]:
    if variant == "browsecomp":
        return _WEB_RULES.get(key, _WEB_OTHER)
    return _SWE_RULES.get(key, _SWE_OTHER)


def _name(call: ToolCall | None) -> str:
    return (call.name or "").strip().lower() if call is not None else ""


def _arguments(call: ToolCall | None, variant: Variant) -> dict[str, str]:
    """Keys stripped and lowered (the later key wins a collision); values via str(), JSON null as "". A bash
    tool's `command` is the original's `cmd` (module docstring), unless the call also has a `cmd`."""
    raw: Mapping[Any, Any] = call.arguments if call is not None else {}
    args = {str(k).strip().lower(): "" if v is None else str(v) for k, v in raw.items()}
    if variant == "swe" and _name(call) in BASH_TOOLS and "command" in args and "cmd" not in args:
        args["cmd"] = args.pop("command")
    return args


def score_actions(predicted: ToolCall | None, reference: ToolCall | None, variant: Variant = "swe") -> ActionScore:
    """The reward with its parts. A missing or empty-named action on either side scores 0."""
    if variant not in ("swe", "browsecomp"):
        raise ValueError(f"unknown reward variant {variant!r}; use 'swe' or 'browsecomp'")
    pred_name, ref_name = _name(predicted), _name(reference)
    if not pred_name or not ref_name:
        return ActionScore(reward=0.0, name_match=False, param_score=0.0)
    pred_args, ref_args = _arguments(predicted, variant), _arguments(reference, variant)
    per_key: dict[str, float] = {}
    total = weights = 0.0
    for key in sorted(pred_args.keys() | ref_args.keys()):
        weight, sim = _rule(variant, key)
        per_key[key] = sim(pred_args.get(key, ""), ref_args.get(key, ""))
        total += weight * per_key[key]
        weights += weight
    param_score = total / weights if weights else 1.0
    name_match = pred_name == ref_name
    score01 = NAME_WEIGHT * name_match + PARAM_WEIGHT * param_score
    if not name_match:
        score01 = min(score01, WRONG_NAME_CAP)
    return ActionScore(SCALE * min(max(score01, 0.0), 1.0), name_match, param_score, per_key)


def action_consistency(predicted: ToolCall | None, reference: ToolCall | None, variant: Variant = "swe") -> float:
    """docs/method.md §7: 10 for the same action, 0 for none; a wrong tool name scores at most 3.5."""
    return score_actions(predicted, reference, variant).reward
