"""BrowseComp-style research tasks: the question format, its loader, and the harness that runs and grades them.

A task is a question with one short reference answer (docs/method.md §9). The original's 128-question subset is JSON
Lines of `{task_id, task_question, ground_truth}`; `load_browsecomp` reads that format. A folder named
`corpus/` next to the JSONL (or an explicit `corpus=`) makes the suite offline: search is BM25 over those
documents. Without one, search goes to the web through Serper. As a task source (`comem run --tasks ...`):
`browsecomp:mini`, `browsecomp:PATH.jsonl` or `browsecomp:PATH.jsonl?corpus=DIR`; `combine=N` (e.g.
`browsecomp:mini?combine=2`) asks every N questions of the file together as one task (`combine_questions`).

The bundled `browsecomp-mini` suite is such a pair: twelve multi-hop questions about a fictional coast and
the 46 pages that answer them (`browsecomp_mini/`; `hops.jsonl` there lists the searches that solve each).

Settings come from `BrowseSettings` (environment variables by default):
    COMEM_SEARCH       auto | bm25 | serper   (auto: bm25 when the task has a corpus, else serper)
    SERPER_API_KEY     Serper key; COMEM_SERPER_URL overrides https://google.serper.dev
    COMEM_WEB_FETCH    1/0: may `fetch` read web pages (default: only when searching the web)
    COMEM_JUDGE_URL    an OpenAI-compatible server for the LLM judge; COMEM_JUDGE_MODEL names its model
                       (default gpt-4.1, the original's judge; OPENAI_API_KEY is sent). With no URL,
                       COMEM_JUDGE_MODEL may name a bundled model or GGUF file to run embedded per grading.
Without a judge, an answer is correct only if it matches the reference after normalisation, and the verdict
says so. A runner that already serves a judge model sets `HARNESS.judge_llm`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

import pydantic

from comem.agent.loop import Outcome
from comem.context.base import Pinned
from comem.context.memory import fill, load_prompt
from comem.core.errors import ComemError
from comem.environment.base import Environment
from comem.llm.base import LLM
from comem.llm.endpoint import ModelConfig
from comem.tasks.harness import Verdict, register_harness
from comem.tasks.judge import judge_answer

MINI_SUITE = "browsecomp-mini"
CORPUS_DIR = "corpus"
_FIELDS = ("task_id", "task_question", "ground_truth")


class BrowseTask(pydantic.BaseModel):
    """One question. `ground_truth` is never shown to the agent; `corpus` None means search the web."""

    instance_id: str
    question: str
    ground_truth: str
    corpus: Path | None = None


def mini_suite_dir() -> Path:
    return Path(__file__).resolve().parent / "browsecomp_mini"


def load_browsecomp(source: str | Path = MINI_SUITE, ids: list[str] | None = None,
                    corpus: Path | None = None) -> list[BrowseTask]:
    """Questions from `browsecomp-mini` or a `{task_id, task_question, ground_truth}` JSONL file.

    `corpus` defaults to a `corpus/` folder next to the file. `ids` filters by task_id, in the given order.
    Every malformed row is a ComemError naming file:line.
    """
    path = mini_suite_dir() / "questions.jsonl" if str(source) == MINI_SUITE else Path(source).expanduser()
    if not path.is_file():
        raise ComemError(f"BrowseComp question file {path} does not exist.",
                         fix=f"Pass a .jsonl file of {{task_id, task_question, ground_truth}} rows, or {MINI_SUITE}.")
    if corpus is None and (path.parent / CORPUS_DIR).is_dir():
        corpus = path.parent / CORPUS_DIR
    tasks = _read_rows(path, corpus.resolve() if corpus else None)
    if ids is None:
        return tasks
    by_id = {task.instance_id: task for task in tasks}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ComemError(f"Unknown task id(s) {', '.join(map(repr, unknown))} in {path}.",
                         fix=f"Use ids from the file, e.g. {', '.join(list(by_id)[:3])}.")
    return [by_id[i] for i in dict.fromkeys(ids)]


def load_source(spec: str) -> list[BrowseTask]:
    """The `browsecomp:` task source (comem.eval.suite): `mini` or `PATH`, then `?corpus=DIR`, `?combine=N`."""
    source, _, query = spec.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    fix = "write browsecomp:mini or browsecomp:PATH, optionally with ?corpus=DIR and ?combine=N (N of 2 or more)."
    combine = options.get("combine", "1")
    if not source or set(options) - {"corpus", "combine"} or not combine.isdigit() or int(combine) < 1:
        raise ComemError(f"Bad browsecomp task source {spec!r}.", fix=fix)
    corpus = Path(options["corpus"]).expanduser() if options.get("corpus") else None
    tasks = load_browsecomp(MINI_SUITE if source in ("mini", MINI_SUITE) else source, corpus=corpus)
    return tasks if int(combine) == 1 else combine_questions(tasks, int(combine))


COMBINED_SEPARATOR = " | "


def combine_questions(tasks: list[BrowseTask], n: int) -> list[BrowseTask]:
    """Every `n` questions of `tasks` (in file order, each set once) asked together as one task.

    A research agent then follows `n` trails side by side, and a clue found early on one trail is needed again
    after steps on the others: the long-range use of old tool outputs that single multi-hop questions, whose every
    hop needs only the page just read, do not have. The answer is the `n` answers in order, joined by " | "; the
    id joins the questions' ids with "+". The questions must share one corpus.
    """
    if not 2 <= n <= len(tasks):
        raise ComemError(f"Cannot ask {n} of {len(tasks)} questions together.",
                         fix=f"Use combine=N with 2 <= N <= {len(tasks)}.")
    if len({task.corpus for task in tasks}) > 1:
        raise ComemError("Combined questions must share one corpus.", fix="Combine questions of one suite.")
    out = []
    for group in itertools.combinations(tasks, n):
        listed = "\n".join(f"{i}. {task.question}" for i, task in enumerate(group, start=1))
        every = "both" if n == 2 else f"all {n}"
        question = (f"Answer these {n} questions. Work on them side by side, then give {every} answers in one "
                    f"submit_answer call, in this order, separated by \"{COMBINED_SEPARATOR.strip()}\" "
                    f"(for example: {COMBINED_SEPARATOR.join(f'answer {i}' for i in range(1, n + 1))}).\n\n{listed}")
        out.append(BrowseTask(instance_id="+".join(task.instance_id for task in group), question=question,
                              ground_truth=COMBINED_SEPARATOR.join(task.ground_truth for task in group),
                              corpus=group[0].corpus))
    return out


def _read_rows(path: Path, corpus: Path | None) -> list[BrowseTask]:
    tasks: list[BrowseTask] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ComemError(f"Cannot read {path}: {error}.", fix="Make the file readable UTF-8 text.") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        task = _task(line, f"{path}:{lineno}", corpus)
        if task.instance_id in seen:
            raise ComemError(f"{path}:{lineno}: duplicate task_id {task.instance_id!r}.",
                             fix="Give every question its own task_id.")
        seen.add(task.instance_id)
        tasks.append(task)
    if not tasks:
        raise ComemError(f"{path} contains no questions.", fix="Add one JSON object per line.")
    return tasks


def _task(line: str, where: str, corpus: Path | None) -> BrowseTask:
    fix = 'Write one JSON object per line: {"task_id": "1", "task_question": "...", "ground_truth": "..."}.'
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ComemError(f"{where}: not valid JSON ({error.msg} at column {error.colno}).", fix=fix) from None
    if not isinstance(row, dict):
        raise ComemError(f"{where}: expected a JSON object, got {type(row).__name__}.", fix=fix)
    values: dict[str, str] = {}
    for key in _FIELDS:
        value = row.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # ids and numeric answers written as numbers
        if not isinstance(value, str) or not value.strip():
            problem = "is missing" if value is None else "must be a non-empty string"
            raise ComemError(f"{where}: field {key!r} {problem}.", fix=fix)
        values[key] = value.strip()
    return BrowseTask(instance_id=values["task_id"], question=values["task_question"],
                      ground_truth=values["ground_truth"], corpus=corpus)


class BrowseSettings(pydantic.BaseModel):
    """How browse tasks search, fetch and get judged; `from_env` reads the variables in the module doc."""

    search: Literal["auto", "bm25", "serper"] = "auto"
    serper_url: str = "https://google.serper.dev"
    web_fetch: bool | None = None
    judge: ModelConfig | None = None
    index_cache_dir: Path | None = None  # default: the user cache dir

    @classmethod
    def from_env(cls) -> BrowseSettings:
        env = os.environ
        judge_url, judge_model = env.get("COMEM_JUDGE_URL"), env.get("COMEM_JUDGE_MODEL")
        judge = None
        if judge_url or judge_model:
            judge = ModelConfig(url=judge_url or None, model=judge_model or "gpt-4.1")  # the original's judge
        web_fetch = env.get("COMEM_WEB_FETCH")
        try:
            return cls(search=env.get("COMEM_SEARCH") or "auto",
                       serper_url=env.get("COMEM_SERPER_URL") or cls.model_fields["serper_url"].default,
                       web_fetch=None if not web_fetch else web_fetch.strip().lower() in ("1", "true", "yes", "on"),
                       judge=judge)
        except pydantic.ValidationError:
            raise ComemError(f"COMEM_SEARCH={env.get('COMEM_SEARCH')!r} is not a search backend.",
                             fix="Set COMEM_SEARCH to auto, bm25 or serper.") from None


def example_query(question: str) -> str:
    """A search example made of the question's own names: small models copy examples, so copying should help."""
    names = re.findall(r"(?:[A-Z][\w'-]+\s+){1,3}[A-Z][\w'-]+", question)
    return names[0].strip() if names else " ".join(question.split()[:6])


class BrowseHarness:
    """Browse tasks: the browser over the task's corpus or the web, the browse prompts, the answer judge."""

    def __init__(self, settings: BrowseSettings | None = None, judge_llm: LLM | None = None) -> None:
        self.settings = settings  # None: read the environment at each episode
        self.judge_llm = judge_llm  # a judge the caller serves; takes precedence over settings.judge

    def _settings(self) -> BrowseSettings:
        return self.settings or BrowseSettings.from_env()

    def open(self, task: Any, *, bash_timeout_s: float) -> Environment:
        from comem.environment.browse.browser import BrowseLimits, open_browser

        settings = self._settings()
        search = settings.search if settings.search != "auto" else ("bm25" if task.corpus else "serper")
        return open_browser(search=search, corpus=task.corpus, web_fetch=settings.web_fetch,
                            serper_url=settings.serper_url, index_cache_dir=settings.index_cache_dir,
                            limits=BrowseLimits(tool_timeout_s=bash_timeout_s))

    def pinned(self, task: Any, env: Environment) -> Pinned:
        from comem.tasks.prompts import describe_tools

        system = fill(load_prompt("browse_system.txt"), tools=describe_tools(env.tool_specs),
                      where=env.where,  # type: ignore[attr-defined]  # env is the BrowserEnv `open` made
                      example_query=example_query(task.question))
        return Pinned(system=system, task=fill(load_prompt("browse_task.txt"), question=task.question.strip()))

    async def grade(self, task: Any, env: Environment, outcome: Outcome) -> Verdict:
        answer = env.diff()
        if not answer:
            return Verdict(resolved=False, detail={"answer": None, "reasoning": "No answer was submitted."})
        settings = self._settings()
        if self.judge_llm is not None or settings.judge is None:
            judgement = await judge_answer(task.question, answer, task.ground_truth, self.judge_llm)
        else:
            from comem.llm.open import open_model

            with tempfile.TemporaryDirectory(prefix="comem-judge-") as logs:
                async with open_model(settings.judge, "judge", Path(logs), threads=2) as judge:
                    judgement = await judge_answer(task.question, answer, task.ground_truth, judge)
        return Verdict(resolved=judgement.correct, error=judgement.error,
                       detail={"answer": answer, "ground_truth": task.ground_truth, **judgement.model_dump()})


HARNESS = BrowseHarness()


def _register() -> None:
    from comem.tasks.sources import register_source

    register_harness(BrowseTask, HARNESS)
    register_source("browsecomp", load_source)


_register()
