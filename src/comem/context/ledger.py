"""The ledger: a deterministic record of what summarised steps touched (docs/method.md §3.1).

A small memory model's summary keeps the gist and drops the identifiers the agent needs next: the file, the
failing test, the command that failed. The ledger is read off the steps instead of written by a model: files
viewed and edited with their line ranges, commands with their exit codes (and pytest's tally), errors and
failing test ids, edits and their undos, and the task's key names; for research tools, the searches run and
the pages found and read (url, title, and the sentence that answers the search which found them). It costs
no model time, cannot invent anything, and is ready the moment it is asked for. It is bounded: each section is
ranked most recent first, then most referenced, and sections take turns adding one line until the token budget
is spent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from comem.context.base import estimate_tokens
from comem.core.records import Step

SECTIONS = ("files", "edits", "commands", "pages", "errors", "names")
_TURN_ORDER = ("errors", "commands", "pages", "files", "edits", "names")  # who adds a line first in each round
_CLIP = 120  # characters of a command or an error message kept
_DETAILS = 4  # the most recent views and edits of a file shown
_TOP_RESULTS = 3  # a search's results whose links are noted as pages found
_STOPWORDS = frozenset({"the", "and", "for", "was", "were", "with", "from", "that", "this", "which", "who",
                        "whom", "whose", "what", "when", "where", "how", "its", "his", "her", "their", "they",
                        "she", "him", "are", "has", "had", "have", "not", "but", "into", "onto", "after",
                        "before", "about", "over", "under"})  # words a search query shares with any sentence
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W_]{3,}")  # 3+ letters or digits of any script
_PROSE = re.compile(r"[^\W\d_]{3}")  # a sentence has a word of 3 letters

_EXIT = re.compile(r"\AExit code: (-?\d+)\n")
_TOOL_ERROR = re.compile(r"\AExecution output of \[\w+\]:\nERROR: (.+)")
_VIEWED = re.compile(r"\AExecution output of \[file_editor\]:\nHere's the result of running `cat -n` on .+?"
                     r"(?: \(lines (\d+)-(\d+)(?:;[^)\n]*)?\))?:\n")  # the lines shown (a widened range too)
_NUMBERED = re.compile(r"^\s*(\d+)\t(.*)$", re.MULTILINE)
_EXCEPTION = re.compile(r"^\s*(?:E\s+)?((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt))"
                        r"(?::\s*(.*)|\s*$)")
_PYTEST_ID = re.compile(r"^\s*(?:FAILED|ERROR)\s+(\S+)")
_PYTEST_TALLY = re.compile(r"\b(\d+ (?:failed|passed|errors?)(?:, \d+ \w+)*) in [\d.]+s")
_SEARCH_HIT = re.compile(r"^(\S+?):\d+:", re.MULTILINE)
_SEARCH_FALLBACK = re.compile(r"its last part instead\.\n(?:Found \d+ match(?:es)?|More than \d+ matches) for "
                              r"(['\"])(.*?)\1 in ")  # environment/search.py: a qualified name's last part
_TRACEBACK = re.compile(r'File "([^"<>]+)", line \d+')  # not File "<string>"
_PATH = re.compile(r"(?<![\w/.-])(/?(?:[\w.-]+/)+[\w.-]*\w|[\w-]+(?:\.[\w-]+)*\.(?:py|pyi|md|rst|txt|json|toml|yaml|"
                   r"yml|cfg|ini|sh|csv|js|ts|c|h|rs|go))(?![\w/-])")
_BACKTICK = re.compile(r"(?<!`)`([A-Za-z_][\w.:/-]*)(?:\(\))?`(?!`)")  # names, dotted names, test ids


@dataclass
class Entry:
    """One ledger line's subject: when it was last seen (step index), how often, and what is known about it."""

    key: str
    last: int
    refs: int = 1
    first: int = 0
    detail: list[str] = field(default_factory=list)
    says: str = ""  # a page's sentence that answers the search which found it (research pages only)


@dataclass
class Ledger:
    """What a span of steps touched, per section, keyed by subject (a path, a command, an error, a name)."""

    files: dict[str, Entry] = field(default_factory=dict)
    edits: dict[str, Entry] = field(default_factory=dict)
    commands: dict[str, Entry] = field(default_factory=dict)
    errors: dict[str, Entry] = field(default_factory=dict)
    names: dict[str, Entry] = field(default_factory=dict)
    pages: dict[str, Entry] = field(default_factory=dict)  # research: url -> found by a search / read
    found_by: dict[str, str] = field(default_factory=dict, repr=False)  # research: url -> the query that found it
    undoable: dict[str, list[Entry]] = field(default_factory=dict, repr=False)  # per path, its edits not undone

    def note(self, section: str, key: str, step: int, detail: str | None = None) -> Entry:
        """Record that `step` referred to `key` (refs count steps, not mentions); a detail (a line range, an
        outcome) is kept once, in order."""
        entries: dict[str, Entry] = getattr(self, section)
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = Entry(key=key, last=step, refs=0, first=step)
        if entry.refs == 0 or step != entry.last:
            entry.refs += 1
        entry.last = max(entry.last, step)
        if detail and detail not in entry.detail:
            entry.detail.append(detail)
        return entry

    def ranked(self, section: str) -> list[Entry]:
        """Most recent first, then most referenced, then first seen (a stable order for equal entries); files
        the agent viewed or edited come before files it only saw named."""
        entries: dict[str, Entry] = getattr(self, section)
        return sorted(entries.values(), key=lambda e: (not e.detail, -e.last, -e.refs, e.first, e.key))


def _words(text: str) -> set[str]:
    """Case-folded words (`Straße` and `STRASSE` are one), stop words left out."""
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS}


def _says(text: str, query: str, title: str) -> str:
    """The sentence of `text` sharing the most words with `query` beside the page's `title` (the subject every
    sentence is about), then with the whole query, the first on a tie (the lead if none shares any): on a page
    found by a search, usually the one that answers it."""
    prose = re.sub(r"[*_#`]+", "", "\n".join(line for line in text.splitlines()
                                              if not re.match(r"(Title|URL): ", line)))
    wanted = _words(query)
    topical = wanted - _words(title)
    best, best_key = "", (-1, -1)
    for sentence in (s.strip() for s in _SENTENCE.split(prose) if _PROSE.search(s)):
        words = _words(sentence)
        key = (len(words & topical), len(words & wanted))
        if key > best_key:  # strictly more: the first sentence wins a tie
            best, best_key = sentence, key
    return _clip(best) if best else ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _paths(text: str) -> Iterable[str]:
    for match in _PATH.finditer(text):
        path = match.group(1).removeprefix("./").rstrip("/")
        if re.search(r"[A-Za-z]", path):
            yield path


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _edited_lines(step: Step, kind: str) -> str | None:
    """The lines an edit wrote, from its arguments and the numbered snippet the editor printed."""
    args = step.action.arguments if step.action else {}
    if kind == "create":
        text = str(args.get("file_text") or "")
        return _span(1, max(1, text.count("\n") + (0 if text.endswith("\n") else 1)))
    new = str(args.get("new_str") or "")
    count = new.count("\n") + (0 if new.endswith("\n") or not new else 1)
    if kind == "insert" and isinstance(args.get("insert_line"), int | str) and str(args["insert_line"]).isdigit():
        start = int(args["insert_line"]) + 1
        return _span(start, start + max(count, 1) - 1)
    first = next((line.strip() for line in new.splitlines() if line.strip()), None)
    numbered = _NUMBERED.findall(step.observation)
    if first is None:
        return None
    for same in (lambda line: line.strip() == first, lambda line: first in line):  # a whole line, else a fragment
        for number, content in numbered:
            if same(content):
                return _span(int(number), int(number) + max(count, 1) - 1)
    return None


def _file_editor(ledger: Ledger, step: Step, n: int) -> None:
    args = step.action.arguments if step.action else {}
    kind, path = str(args.get("command", "")).strip(), str(args.get("path", "")).strip().removeprefix("./")
    if not path:
        return
    if _TOOL_ERROR.match(step.observation):  # nothing was shown or changed; the error is noted with the others
        ledger.note("files", path, n)
    elif kind == "view":
        shown = _VIEWED.match(step.observation)
        if shown is None:
            ledger.note("files", path, n)
            return
        numbers = [int(x) for x, _ in _NUMBERED.findall(step.observation)]
        lines = _span(int(shown[1]), int(shown[2])) if shown[1] else (_span(1, max(numbers)) if numbers else None)
        ledger.note("files", path, n, f"viewed {lines}" if lines else "viewed")
    elif kind in ("create", "str_replace", "rewrite", "insert"):
        lines = _edited_lines(step, kind)
        ledger.note("files", path, n, f"edited {lines}" if lines else "edited")
        edit = ledger.note("edits", f"{n}", n, f"step {n + 1}: {kind} {path}" + (f" lines {lines}" if lines else ""))
        ledger.undoable.setdefault(path, []).append(edit)
    elif kind == "undo_edit":
        ledger.note("files", path, n, "edit undone")
        if ledger.undoable.get(path):
            undone = ledger.undoable[path].pop()
            undone.detail.append(f"undone at step {n + 1}")
            undone.last = n


def _bash(ledger: Ledger, step: Step, n: int, command: str) -> None:
    exit_code = _EXIT.match(step.observation)
    tally = _PYTEST_TALLY.findall(step.observation)
    outcome = f"exit {exit_code[1]}" if exit_code else "not run"
    outcome += f" ({tally[-1]})" if tally else ""
    ledger.note("commands", _clip(command), n).detail = [f"step {n + 1}", outcome]
    for path in _paths(command):
        ledger.note("files", path, n)


def _research(ledger: Ledger, step: Step, n: int) -> None:
    """A browser's `search` (its query, how many results, the top results' links and titles) or `fetch` (the
    page read, with its title): the links a research agent comes back to."""
    action = step.action
    assert action is not None
    if failed := _TOOL_ERROR.match(step.observation):
        ledger.note("errors", _clip(failed[1]), n)
        return
    body = step.observation.partition("\n")[2]
    if action.name == "fetch":
        url = str(action.arguments.get("url", "")).strip()
        title = re.match(r"Title: (.+)", body)
        if url:
            page = _page(ledger, url, n, title[1] if title else "", "read")
            page.says = _says(body, ledger.found_by.get(url, ""), title[1] if title else "") or page.says
        return
    try:
        hits = json.loads(body)
    except json.JSONDecodeError:
        hits = []
    hits = [h for h in hits if isinstance(h, dict) and isinstance(h.get("link"), str)] if isinstance(hits, list) else []
    query = _clip(str(action.arguments.get("q", "")))
    ledger.note("commands", f"search {query!r}", n).detail = [f"step {n + 1}", f"{len(hits)} results"]
    for hit in hits[:_TOP_RESULTS]:
        page = _page(ledger, hit["link"], n, str(hit.get("title", "")), "found")
        ledger.found_by[hit["link"]] = query  # the latest search: the one a fetch that follows it answers
        if not any(d.startswith("read") for d in page.detail):  # what a page read says outranks its snippet
            page.says = _says(str(hit.get("snippet", "")), query, str(hit.get("title", ""))) or page.says


def _page(ledger: Ledger, url: str, n: int, title: str, how: str) -> Entry:
    """A page's entry: its title (the first detail, kept once), then when it was found and read."""
    if url not in ledger.pages:
        ledger.note("pages", url, n, f"\"{_clip(title)}\"" if title else "untitled")
    return ledger.note("pages", url, n, f"{how} at step {n + 1}")


def _observation(ledger: Ledger, step: Step, n: int) -> None:
    """Errors, failing tests, the files an observation names (listings, search hits, tracebacks) and its
    `backticked` names."""
    obs = step.observation
    if failed := _TOOL_ERROR.match(obs):
        ledger.note("errors", _clip(failed[1]), n)
    for line in obs.splitlines():
        if test := _PYTEST_ID.match(line):
            ledger.note("errors", f"FAILED {test[1]}", n)
        elif error := _EXCEPTION.match(line):
            ledger.note("errors", _clip(f"{error[1]}: {error[2]}" if error[2] else error[1]), n)
    named = [*_SEARCH_HIT.findall(obs), *_TRACEBACK.findall(obs), *_paths(obs)]
    for path in dict.fromkeys(p.removeprefix("./") for p in named):
        ledger.note("files", path, n)  # once per step, however often it is named
    for name in dict.fromkeys(_BACKTICK.findall(obs)):
        ledger.note("names", name, n)


def extract(steps: Sequence[Step], task: str = "") -> Ledger:
    """The ledger of `steps` (each by its position in the history), with the task's names and paths."""
    ledger = Ledger()
    for found in [*_BACKTICK.findall(task), *_paths(task)]:
        ledger.note("names", found, -1)
    for step in steps:
        n = step.index
        for name in [*_BACKTICK.findall(step.thought), *_paths(step.thought)]:
            ledger.note("names", name, n)  # what the agent named while it thought, touched or not
        action = step.action
        if action is None:
            ledger.note("errors", "no valid tool call in the reply", n)
            continue
        if action.name == "file_editor":
            _file_editor(ledger, step, n)
        elif action.name in ("bash", "execute_bash") and isinstance(action.arguments.get("command"), str):
            _bash(ledger, step, n, action.arguments["command"])
        elif action.name == "fetch" or (action.name == "search" and "q" in action.arguments):  # a browser's
            _research(ledger, step, n)
            continue  # page text is prose: its paths and backticks are not the agent's subjects
        elif action.name == "search":
            term, where = action.arguments.get("search_term", ""), action.arguments.get("path", ".")
            hits = f"{len(_SEARCH_HIT.findall(step.observation))} matches"
            if fallback := _SEARCH_FALLBACK.search(step.observation):  # the hits are the last part's, not the term's
                hits = f"0 matches; {hits} for {fallback[2]!r}"
            ledger.note("commands", _clip(f"search {term!r} in {where}"), n).detail = [f"step {n + 1}", hits]
        _observation(ledger, step, n)
    return ledger


def _line(section: str, entry: Entry) -> str:
    if section == "files":
        return f"- {entry.key}" + (f": {', '.join(entry.detail[-_DETAILS:])}" if entry.detail else "")
    if section == "pages":
        return f"- {entry.key} {entry.detail[0]}: {', '.join(entry.detail[1:][-_DETAILS:])}" + (
            f" - says: {entry.says}" if entry.says else "")
    if section == "edits":
        return "- " + ", ".join(entry.detail)
    if section == "commands":
        return f"- {entry.detail[0]}: `{entry.key}` -> {entry.detail[1]}" + (
            f" (run {entry.refs} times)" if entry.refs > 1 else "")
    if section == "errors":
        steps = _span(entry.first + 1, entry.last + 1)
        return f"- {entry.key} (step{'s' if '-' in steps else ''} {steps}" + (
            f", {entry.refs} times)" if entry.refs > 1 else ")")
    return f"- {entry.key}"


def render(ledger: Ledger, budget_tokens: int) -> str:
    """The ledger as text within `budget_tokens` (estimated): sections take turns adding their best next line."""
    queues = {s: [_line(s, e) for e in ledger.ranked(s)] for s in SECTIONS}
    chosen: dict[str, list[str]] = {s: [] for s in SECTIONS}
    used = 0
    while any(queues.values()):
        for section in _TURN_ORDER:
            if not queues[section]:
                continue
            line = queues[section].pop(0)
            cost = estimate_tokens(line + "\n") + (0 if chosen[section] else estimate_tokens(f"{section}:\n"))
            if used + cost > budget_tokens:
                queues[section] = []  # this section's lines no longer fit; shorter ones of others may
                continue
            chosen[section].append(line)
            used += cost
    return "\n".join(f"{s}:\n" + "\n".join(chosen[s]) for s in SECTIONS if chosen[s])


def ledger_text(steps: Sequence[Step], task: str, budget_tokens: int) -> str:
    """The rendered ledger of `steps` (what the agent is shown)."""
    return render(extract(steps, task), budget_tokens)
