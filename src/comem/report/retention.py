"""Identifier retention: how many of the concrete names in a summarised span survive into its summary.

A summary that keeps "fixed the parser" but drops `semverlite/version.py`, `test_bump_minor` and `1.3.0` leaves
the agent to rediscover them. For each successful memory update, identifiers are extracted from the steps it
covers (`covers = [start, end)`; observations cut to `memory_obs_chars` exactly as the memory model saw them),
in six categories:

paths     tokens of path characters (`[\\w./-]`) that contain a `/` between two names, or end in a common
          source or data file extension (.py, .md, .json, ...); a leading `./` and a trailing `/` are dropped.
urls      http(s) links, up to a space, quote or bracket, without a closing full stop or comma: the pages a
          research agent found and may still have to read.
commands  the program of each bash command (actions only): the first word of every `;`, `&&`, `||`, `|`, `&`
          or newline separated part, after `VAR=value` assignments, `sudo`/`env`/`time`/... prefixes and
          `if`/`do`/`while`/... keywords, without its directory (parts opening with `for`/`case`/`done`/...
          name no program).
errors    observation lines `[E ]Name: ...` or `[E ]Name` where Name ends in Error/Exception/Warning/Exit/
          Interrupt (the identifier is the class name, without its module), and `FAILED id` / `ERROR id` lines
          of pytest (the identifier is the test id up to ` - `).
numbers   numbers with at least two digits or with a dot (`42`, `3.14`, `1.3.0`), not glued to a word.
names     function, class or module names in single backticks in thoughts and observations (`bump_minor`,
          `Version.parse()`), without the call parentheses.

An identifier is retained if the memory the agent was shown for the span (its summary, and the ledger when the
arm kept one; under `keep_calls` also the span's own turns, thought and call, which stay in the prompt) contains
it as a whole token. Paths also count as retained through
their file name (`version.py` for `src/semverlite/version.py`); dotted names and test ids through their last
part (`parse` for `Version.parse`, `test_bump` for `tests/test_v.py::test_bump`). Per update the score is
kept / found over all categories; an arm's score is the mean over updates that found any identifier, and a
category's score the mean over updates that found one of that category.

`view_memories` gives, for one recorded update, the memory each view would have shown for the same span (the
recorded summary, the ledger extracted from the steps, both), so a run of summaries also measures the ledger
offline: the ledger is deterministic, so extracting it later gives exactly what a ledger arm would have shown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from pydantic import BaseModel

from comem.context.ledger import ledger_text
from comem.context.memory import MemorySettings, clip_middle
from comem.core.records import MemoryRecord, Step

CATEGORIES = ("paths", "urls", "commands", "errors", "numbers", "names")
VIEWS = ("summary", "ledger", "both")
EXTENSIONS = frozenset({
    "py", "pyi", "pyx", "ipynb", "txt", "md", "rst", "json", "jsonl", "yaml", "yml", "toml", "cfg", "ini", "conf",
    "sh", "bash", "js", "ts", "jsx", "tsx", "c", "h", "cc", "cpp", "hpp", "rs", "go", "java", "kt", "rb", "php",
    "html", "css", "scss", "csv", "tsv", "sql", "xml", "diff", "patch", "lock", "log"})
_SHELL_PREFIXES = frozenset({"sudo", "env", "time", "command", "builtin", "exec", "nice", "nohup", "if", "then",
                             "else", "elif", "do", "while", "until", "!", "{"})
_NO_PROGRAM = frozenset({"for", "case", "select", "function", "done", "fi", "esac", "}", "in"})

_PATH_CANDIDATE = re.compile(r"[\w./-]+")
_URL = re.compile(r"https?://[^\s<>()\[\]{}\"'`|]+")
_SEPARATORS = re.compile(r"&&|\|\||[;|&\n]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_ERROR_LINE = re.compile(r"^\s*(?:E\s+)?((?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)))"
                         r"(?::|\s*$)")
_PYTEST_LINE = re.compile(r"^\s*(?:FAILED|ERROR)\s+(\S+?)(?:\s+-\s|\s*$)")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+|\d{2,})(?![\w])(?!\.\d)")
_LETTER = re.compile(r"[A-Za-z]")
_INNER_SLASH = re.compile(r"\w/\w")
_BACKTICK = re.compile(r"(?<!`)`([A-Za-z_][\w.]*)(?:\(\))?`(?!`)")


class UpdateRetention(BaseModel):
    """One memory update: identifiers found in its span and kept in its summary, per category."""

    record_id: int
    found: dict[str, int]
    kept: dict[str, int]
    missing: dict[str, list[str]]

    @property
    def score(self) -> float | None:
        total = sum(self.found.values())
        return sum(self.kept.values()) / total if total else None

    def category_score(self, category: str) -> float | None:
        return self.kept[category] / self.found[category] if self.found[category] else None


def paths(text: str) -> set[str]:
    out = set()
    for token in _PATH_CANDIDATE.findall(text):
        token = token.removeprefix("./").rstrip(".-/")  # `./x`, a sentence's full stop, a directory's slash
        if token.startswith("//") or not _LETTER.search(token):
            continue  # the rest of a URL, or a number such as 1.2.3
        name = token.rsplit("/", 1)[-1]
        has_slash = _INNER_SLASH.search(token) is not None
        if has_slash or ("." in name and name.rsplit(".", 1)[1].lower() in EXTENSIONS and name.rsplit(".", 1)[0]):
            out.add(token)
    return out


def urls(text: str) -> set[str]:
    return {url.rstrip(".,;:!?") for url in _URL.findall(text)}


def commands(command: str) -> set[str]:
    out = set()
    for part in _SEPARATORS.split(command):
        words = [w for w in part.strip().strip("()").split() if w]
        while words and (words[0] in _SHELL_PREFIXES or _ASSIGNMENT.match(words[0])):
            words.pop(0)
        if words and words[0] not in _NO_PROGRAM and re.fullmatch(r"[\w./+-]+", words[0]):
            program = PurePosixPath(words[0]).name
            if program and re.search(r"[A-Za-z]", program):
                out.add(program)
    return out


def errors(text: str) -> set[str]:
    out = set()
    for line in text.splitlines():
        if found := _PYTEST_LINE.match(line):
            out.add(found.group(1))
        elif found := _ERROR_LINE.match(line):
            out.add(found.group(2))
    return out


def numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(text))


def names(text: str) -> set[str]:
    return set(_BACKTICK.findall(text))


def _command_of(step: Step) -> str | None:
    if step.action is None or step.action.name not in ("bash", "execute_bash"):
        return None
    value = step.action.arguments.get("command", step.action.arguments.get("cmd"))
    return value if isinstance(value, str) else None


def extract(steps: Iterable[Step], obs_chars: int = MemorySettings().memory_obs_chars) -> dict[str, set[str]]:
    """Identifiers of a span of steps, per category (see the module docstring)."""
    found: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for step in steps:
        action = " ".join(str(v) for v in step.action.arguments.values()) if step.action else ""
        for category, ids in zip(CATEGORIES, _step_ids(step.thought, action, step.observation, _command_of(step),
                                                        obs_chars), strict=True):
            found[category] |= ids
    return found


@functools.lru_cache(maxsize=8192)
def _step_ids(thought: str, action: str, observation: str, command: str | None,
              obs_chars: int) -> tuple[frozenset[str], ...]:
    """One step's identifiers, per category in CATEGORIES order. Cached: a from-scratch summary's span starts at
    step 0, so a long episode's early steps are read once per update otherwise."""
    observation = clip_middle(observation, obs_chars)
    everything = "\n".join((thought, action, observation))
    return (frozenset(paths(everything)), frozenset(urls(everything)),
            frozenset(commands(command) if command is not None else ()),
            frozenset(errors(observation)), frozenset(numbers(everything)),
            frozenset(names(thought + "\n" + observation)))


def _contains(summary: str, token: str) -> bool:
    if token not in summary:  # most lost identifiers are not there at all: skip the regex
        return False
    return re.search(rf"(?<![\w./-]){re.escape(token)}(?![\w/-])", summary) is not None


def is_retained(category: str, identifier: str, summary: str) -> bool:
    if _contains(summary, identifier):
        return True
    if category == "paths":
        name = PurePosixPath(identifier).name
        return "." in name and _contains(summary, name)
    if category == "errors" and "::" in identifier:
        return _contains(summary, identifier.rsplit("::", 1)[1])
    if category == "names" and "." in identifier:
        return _contains(summary, identifier.rsplit(".", 1)[1])
    return False


def shown_memory(record: MemoryRecord) -> str:
    """What the agent was shown for the update's span: its summary and/or its ledger."""
    return "\n".join(text for text in (record.summary, record.ledger) if text)


def kept_calls(record: MemoryRecord, steps: list[Step]) -> str:
    """The span's own turns (reply text and call) that a `keep_calls` arm still shows beside its memory."""
    return "\n".join(s.turn_text for s in steps if record.covers[0] <= s.index < record.covers[1])


def view_memories(record: MemoryRecord, steps: list[Step], task: str, ledger_tokens: int) -> dict[str, str]:
    """The memory each view shows for this update's span [0, end): the recorded summary, the ledger of the
    steps (extracted now, as a ledger arm would have), and both."""
    ledger = record.ledger or ledger_text([s for s in steps if s.index < record.covers[1]], task, ledger_tokens)
    return {"summary": record.summary, "ledger": ledger, "both": "\n".join(t for t in (record.summary, ledger) if t)}


def score_update(record: MemoryRecord, steps: list[Step], obs_chars: int, memory: str | None = None) \
        -> UpdateRetention:
    """Retention of one successful update over the steps it covers, in `memory` (default: what was shown)."""
    span = [s for s in steps if record.covers[0] <= s.index < record.covers[1]]
    found = extract(span, obs_chars)
    shown = shown_memory(record) if memory is None else memory
    missing = {c: sorted(i for i in ids if not is_retained(c, i, shown)) for c, ids in found.items()}
    return UpdateRetention(record_id=record.id, found={c: len(ids) for c, ids in found.items()},
                           kept={c: len(found[c]) - len(missing[c]) for c in CATEGORIES}, missing=missing)
