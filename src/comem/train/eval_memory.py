"""`comem eval-memory`: does a memory model's summary keep the agent on the recorded course? (docs/method.md §9)

On held-out GRPO records (eval.parquet) the frozen agent is asked, greedily, for its next action under several
contexts, and the action is scored against the recorded one with the action-consistency reward (0-10) and the
exact tool-name match. Conditions:

- `none`      the pinned prompts plus the raw window the memory conditions get (steps[covered:t]; with retain 0
              the last step) and no summary, so a memory condition minus `none` is what its summary is worth;
- `truncate`  the pinned prompts plus the most recent whole steps whose estimated tokens (reply + observation)
              fit `truncate_tokens` (at least the last step): a token budget, so long observations count;
- `ledger`    the ledger of the covered steps (`ledger_tokens`) in place of a summary, with the same raw window:
              a memory that needs no model (opt-in: `--baselines none,truncate,ledger,full`);
- `recent`    the newest covered steps, a line each (context/recent.py), where a summary goes, in the budget an
              extractive SFT candidate gets under `memory_max_tokens` (train/data/extractive.py): the view a
              memory model trained on such targets has to beat (opt-in, like `ledger`);
- `mask`      observation masking (context/mask.py, the `mask` strategy's defaults): every step's thought and call,
              the observations before the last three as one-line placeholders; the field's cheap alternative to
              summarising, with no memory model (opt-in);
- `<label>`   one per memory model: it summarises the record's memory prompt (temperature 0, `memory_max_tokens`)
              and the agent sees exactly what the training reward shows it (`agent_messages`: summary + raw
              window, or summary + last observation with retain 0);
- `<label>+ledger` with `with_ledger`: the same summary with the ledger after it (`memory_view: both`);
- `full`      the whole history steps[:t], the upper bound (needs an agent context that holds it).

With `keep_calls` (the arm setting of that name, context/memory.py) every memory condition and `none` also show
the covered steps as the agent's own turns with masked outputs, the memory block closing the last covered output:
`none` is then the calls without any memory, and a memory condition minus `none` is still what its memory adds.

Per condition: the mean reward with a 95% percentile-bootstrap interval over records, the tool-name match rate
and the mean estimated agent prompt tokens; with `full` among the conditions, also the reward of each action
against the agent's own action under the full history (`against_full`): the paper's reference, whose
trajectories come from the full-context agent, and the one that still ranks memories when the recorded course
is another agent's (an oracle's) that the judge does not follow. Paired differences, record by record, on both.
Memory models run first, one at a time, then the agent, so embedded servers never compete for the CPU. Calls go
condition by condition over the records sorted by (task, step), so a server's prefix cache reuses the pinned
prompts, and under `full` each history extends the one before.
Summaries and scores are appended to `summaries.jsonl` / `scores.jsonl` in the output directory as they finish
(fsynced); a rerun skips what is done and retries failures, which are counted apart and never scored as 0.
Results: `results.json`, `results.md`.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import AsyncIterator, Callable, Hashable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, model_validator

from comem.agent.loop import AgentConfig
from comem.context.base import Pinned, estimate_tokens, view_budget
from comem.context.ledger import ledger_text
from comem.context.memory import MemorySettings
from comem.context.policies import POLICIES, policy_messages
from comem.core.config import StrictModel, default_of
from comem.core.errors import ComemError
from comem.core.jsonlog import check_resume, read_settings
from comem.core.metrics import Interval, mean_ci, ratio_of_means_ci
from comem.core.records import Message, ToolCall
from comem.llm.base import LLM, LLMError
from comem.llm.endpoint import LORA_MARK, OPTIONS_MARK, ModelConfig, summary_defaults
from comem.train.data.checkpoint import Checkpoint, run_jobs
from comem.train.data.needs import output_only_names
from comem.train.data.records import GrpoRecord, read_parquet
from comem.train.data.teacher import Judge
from comem.train.eval_report import ConditionResult, EvalReport, PairedDifference, SummaryStats, write_report
from comem.train.reward import agent_messages, score_actions
from comem.train.reward.agent_reward import agent_turn, reply_grammar, variant_tool_names
from comem.train.reward.needed_names import kept_share

BASELINES = POLICIES
WITH_LEDGER = "+ledger"


class MemoryCondition(StrictModel):
    """A memory model under test, and the label its condition is reported under."""

    label: str
    model: ModelConfig


def parse_memory_model(text: str, **fields: Any) -> MemoryCondition:
    """`[LABEL=]SPEC`: SPEC is a model spec of `ModelConfig.parse` (a bundled name or GGUF path, either with an
    optional GGUF LoRA adapter `+lora:FILE.gguf`; `hf:DIR`; or an OpenAI-compatible URL whose served model name may
    follow a `#`: `sft=http://127.0.0.1:8000/v1#comem-memory`; default: the label), each perhaps with request
    options after a `?` (`fp=fit.gguf?frequency_penalty=0.5`). `fields` are the other ModelConfig settings
    (api_key, n_ctx, timeout_s, threads)."""
    label, sep, spec = text.partition("=")
    if not sep or "://" in label or OPTIONS_MARK in label:  # `=` of a URL or of a request option
        label, spec = "", text
    spec, label = spec.strip(), label.strip()
    if not spec:
        raise ComemError(f"--memory-model {text!r} names no model.", fix="e.g. --memory-model sft=path/to/model.gguf")
    bare = spec.partition(OPTIONS_MARK)[0]
    if "://" in bare:
        url, _, served = bare.partition("#")
        label = label or served or url.split("://", 1)[1].split("/", 1)[0]
    else:  # a model with a LoRA adapter is named after the adapter
        label = label or Path(bare.rpartition(LORA_MARK)[2]).stem
    if label in BASELINES:
        raise ComemError(f"A memory model cannot be labelled {label!r}: that names a baseline.",
                         fix=f"label it, e.g. --memory-model mine={spec}")
    return MemoryCondition(label=label, model=ModelConfig.parse(spec, **{"model": label, **fields}))


DEFAULT_LIMIT = 20


class EvalSettings(StrictModel):
    """Everything that decides the numbers (api keys aside); `settings.json` keeps it for reruns."""

    data: Path
    limit: int | None = Field(default=DEFAULT_LIMIT, ge=1)  # the first N records; None: all
    agent: ModelConfig = Field(default_factory=ModelConfig)
    memories: list[MemoryCondition] = Field(default_factory=list)
    baselines: list[str] = Field(default_factory=lambda: ["none", "truncate", "full"])
    with_ledger: bool = False  # also score each memory model's summary followed by the ledger
    keep_calls: bool = False  # memory conditions and none keep the covered steps' calls, outputs masked
    ledger_tokens: int = Field(default=MemorySettings().ledger_tokens, ge=16)
    agent_max_tokens: int = Field(default=AgentConfig().max_tokens, ge=1)  # the loop's: a cut reply has no call
    agent_grammar: bool | None = None  # the loop's tool-call grammar for the agent; None: where its engine takes one
    memory_max_tokens: int = Field(default=MemorySettings().memory_max_tokens, ge=1)  # what `comem run` gives it
    truncate_tokens: int = Field(default=1024, ge=1)
    timeout_s: float = Field(default=300.0, gt=0)
    concurrency: int = Field(default=1, ge=1)
    resamples: int = Field(default=2000, ge=1)
    seed: int = 0
    pairs: list[tuple[str, str]] = Field(default_factory=list)  # extra paired differences (FIRST, SECOND), reported

    @model_validator(mode="before")
    @classmethod
    def _adapter_budget(cls, data: Any) -> Any:
        """No summary budget given: the largest a named bundled adapter was trained for, as `comem run` gives it
        (one budget for every condition, so the base and its adapter are compared alike)."""
        if isinstance(data, dict) and data.get("memory_max_tokens") is None and isinstance(data.get("memories"), list):
            budgets = [summary_defaults(m.model).get("memory_max_tokens", 0) for m in data["memories"]
                       if isinstance(m, MemoryCondition)]
            data = {k: v for k, v in data.items() if k != "memory_max_tokens"}
            if max(budgets, default=0):
                data["memory_max_tokens"] = max(budgets)
        return data

    @model_validator(mode="after")
    def _check(self) -> EvalSettings:
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; use {', '.join(BASELINES)}")
        labels = [m.label for m in self.memories]
        if len(set(labels)) != len(labels):
            raise ValueError(f"memory model labels repeat: {labels}; name each with LABEL=SPEC")
        conditions = self.conditions()
        if not conditions:
            raise ValueError("no condition to evaluate: give a memory model or a baseline")
        if len(set(conditions)) != len(conditions):
            raise ValueError(f"conditions repeat: {conditions}; relabel the memory models")
        for first, second in self.pairs:
            unknown = [c for c in (first, second) if c not in conditions]
            if unknown:
                raise ValueError(f"pair {first},{second} names {', '.join(unknown)}, not a condition of this run; "
                                 f"pair two of {', '.join(conditions)}")
            if first == second:
                raise ValueError(f"pair {first},{second} pairs a condition with itself; name two conditions")
        return self

    def conditions(self) -> list[str]:
        """Report order: none, truncate, ledger, recent, mask, the memory models (then each + ledger), full."""
        head = [b for b in BASELINES if b != "full" and b in self.baselines]  # POLICIES is in report order
        labels = [m.label for m in self.memories]
        with_ledger = [label + WITH_LEDGER for label in labels] if self.with_ledger else []
        return head + labels + with_ledger + (["full"] if "full" in self.baselines else [])

    def summarised_by(self, condition: str) -> str:
        """The memory model whose summaries a memory condition shows."""
        return condition.removesuffix(WITH_LEDGER) if self.with_ledger else condition

    def fixed(self) -> dict[str, Any]:
        """The settings a resumed run must share with the first (memory models are checked per label)."""
        return self.model_dump(mode="json", include={"agent_max_tokens", "agent_grammar", "memory_max_tokens",
                                                     "truncate_tokens", "ledger_tokens", "keep_calls"}) | {
            "agent": _spec_key(self.agent), "data": str(self.data.expanduser().resolve())}


class Summary(BaseModel):
    condition: str
    record_id: str
    summary: str
    summary_tokens: int = 0


class Score(BaseModel):
    condition: str
    record_id: str
    predicted: ToolCall | None
    reward: float
    name_match: bool
    context_tokens: int
    reply: str = ""  # the agent's reply as written (why `predicted` is None, when it is)


class Opener(Protocol):
    """Gives a ready LLM for a model spec; the default starts embedded servers or connects to URLs."""

    def __call__(self, spec: ModelConfig, role: str) -> contextlib.AbstractAsyncContextManager[LLM]: ...


def default_opener(log_dir: Path, n_parallel: int) -> Opener:
    from comem.llm.endpoint import thread_plan
    from comem.llm.open import open_model

    @contextlib.asynccontextmanager
    async def opener(spec: ModelConfig, role: str) -> AsyncIterator[LLM]:
        threads, _ = thread_plan(spec, spec, need_memory=False)  # one model at a time: it gets every core
        async with open_model(spec, role, log_dir, threads, n_parallel=n_parallel) as llm:
            yield llm

    return opener


# --------------------------------------------------------------------------- contexts


def baseline_messages(condition: str, record: GrpoRecord, truncate_tokens: int,
                      ledger_tokens: int = MemorySettings().ledger_tokens,
                      summary_tokens: int = MemorySettings().memory_max_tokens, keep_calls: bool = False) \
        -> list[Message]:
    """The agent's context under a baseline (see the module docstring and comem.context.policies)."""
    return policy_messages(condition, Pinned(system=record.system_prompt, task=record.task_prompt),
                           record.history_steps(), record.raw(), truncate_tokens=truncate_tokens,
                           ledger_tokens=ledger_tokens, recent_tokens=view_budget(summary_tokens),
                           keep_calls=keep_calls)


def memory_messages(record: GrpoRecord, summary: str, ledger_tokens: int | None = None, *,
                    keep_calls: bool = False) -> list[Message]:
    """What the training reward shows the agent for this summary; with `ledger_tokens`, the ledger after it; with
    `keep_calls`, the covered steps' calls before it."""
    covered = record.history_steps()[:record.covered] if keep_calls or ledger_tokens is not None else []
    ledger = "" if ledger_tokens is None else ledger_text(covered, record.task_prompt, ledger_tokens)
    return agent_messages(record.system_prompt, record.task_prompt, summary, record.covered, record.raw(),
                          last_observation=record.last_observation, ledger=ledger,
                          kept=covered if keep_calls else None)


def against_full(records: list[GrpoRecord], scores: dict[Hashable, Score]) -> dict[Hashable, Score]:
    """Every other condition's action rescored against the agent's own action under `full` on the same record
    (records where that call gave no action are left out: there is nothing to agree with)."""
    variants = {r.record_id: r.variant for r in records}
    out: dict[Hashable, Score] = {}
    for (condition, record_id), score in scores.items():
        full = scores.get(("full", record_id))
        if condition == "full" or full is None or full.predicted is None or record_id not in variants:
            continue
        scored = score_actions(score.predicted, full.predicted, variants[record_id])
        out[(condition, record_id)] = score.model_copy(update={"reward": scored.reward,
                                                               "name_match": scored.name_match})
    return out


def summarise(settings: EvalSettings, records: list[GrpoRecord], scores: dict[Hashable, Score],
              errors: dict[str, int], kept: dict[tuple[str, str], float] | None = None,
              agreeing: dict[Hashable, Score] | None = None) -> list[ConditionResult]:
    """A row per condition; `kept`: (condition, record id) -> the share of the record's needed names its context
    shows (train/reward/needed_names.py `kept_share`), for the records that need some; `agreeing`: the scores
    against `full` (`against_full`; computed here when not given)."""
    rows = []
    agreeing = against_full(records, scores) if agreeing is None else agreeing
    for condition in settings.conditions():
        shares = [share for (c, _), share in (kept or {}).items() if c == condition]
        kept_ci = mean_ci(shares, resamples=settings.resamples, seed=settings.seed)
        agreement = [agreeing[(condition, r.record_id)].reward for r in records
                     if (condition, r.record_id) in agreeing]
        agree_ci = mean_ci(agreement, resamples=settings.resamples, seed=settings.seed)
        got = [scores[(condition, r.record_id)] for r in records if (condition, r.record_id) in scores]
        rewards = [s.reward for s in got]
        ci = mean_ci(rewards, resamples=settings.resamples, seed=settings.seed)
        of_full = share_of_full(settings, records, scores, condition)
        rows.append(ConditionResult(
            condition=condition, n=len(got), mean_reward=statistics.fmean(rewards) if got else None,
            ci_low=ci.low if ci else None, ci_high=ci.high if ci else None,
            name_match_rate=statistics.fmean(s.name_match for s in got) if got else None,
            no_action_rate=statistics.fmean(s.predicted is None for s in got) if got else None,
            context_tokens=statistics.fmean(s.context_tokens for s in got) if got else None,
            errors=errors.get(condition, 0), needing=len(shares),
            needed_kept=statistics.fmean(shares) if shares else None,
            needed_kept_ci=kept_ci.bounds if kept_ci else None,
            agrees_full=agree_ci.value if agree_ci else None, agrees_full_ci=agree_ci.bounds if agree_ci else None,
            agrees_full_n=len(agreement), of_full=of_full.value if of_full else None,
            of_full_ci=of_full.bounds if of_full else None,
        ))
    return rows


def share_of_full(settings: EvalSettings, records: list[GrpoRecord], scores: dict[Hashable, Score],
                  condition: str) -> Interval | None:
    """How near a condition comes to the full-history bound: its mean reward over full's on the records both
    scored, records resampled in pairs (`ratio_of_means_ci`). None for `full` itself, without `full`, or when
    full's mean is 0."""
    if condition == "full":
        return None
    mine, full = paired_rewards(records, scores, condition, "full")
    return ratio_of_means_ci(mine, full, paired=True, seed=settings.seed, resamples=settings.resamples)


def paired_rewards(records: list[GrpoRecord], scores: dict[Hashable, Score], first: str,
                   second: str) -> tuple[list[float], list[float]]:
    """The two conditions' rewards on the records both scored, in record order (element i: the same record)."""
    both = [r.record_id for r in records if (first, r.record_id) in scores and (second, r.record_id) in scores]
    return [scores[(first, i)].reward for i in both], [scores[(second, i)].reward for i in both]


def repeats_a_line(text: str) -> bool:
    """The same non-empty line twice or more: a small memory model looping, which fills its budget and crowds out
    what it would have kept."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(set(lines)) < len(lines)


def summary_stats(settings: EvalSettings, records: list[GrpoRecord],
                  summaries: dict[Hashable, Summary]) -> list[SummaryStats]:
    """A row per memory model with summaries of these records (`stats_of`)."""
    rows = []
    for memory in settings.memories:
        got = [summaries[key] for r in records if (key := (memory.label, r.record_id)) in summaries]
        if got:
            rows.append(stats_of(memory.label, got, settings.memory_max_tokens))
    return rows


def stats_of(label: str, summaries: list[Summary], budget: int) -> SummaryStats:
    """What a memory model wrote: median length, how many reached `budget`, how many repeat a line."""
    return SummaryStats(label=label, n=len(summaries),
                        median_tokens=statistics.median(s.summary_tokens for s in summaries),
                        at_budget=sum(s.summary_tokens >= budget for s in summaries),
                        repeating=sum(repeats_a_line(s.summary) for s in summaries))


def comparisons(settings: EvalSettings) -> list[tuple[str, str]]:
    """Every condition against `none` (what its memory adds), every later memory model against the first (an
    adapter against its base, listed first), each summary with the ledger against the summary alone and against
    the ledger alone (what each adds to the other), `full` against every other (what it leaves), then the pairs
    the settings ask for that are not among these."""
    conditions, labels = settings.conditions(), [m.label for m in settings.memories]
    pairs = [(c, "none") for c in conditions if "none" in conditions and c != "none"]
    pairs += [(label, labels[0]) for label in labels[1:]]
    if settings.with_ledger:
        pairs += [(label + WITH_LEDGER, other) for label in labels
                  for other in (label, "ledger") if other in conditions]
    pairs += [("full", c) for c in conditions if "full" in conditions and c not in ("none", "full")]
    return pairs + [p for p in dict.fromkeys(settings.pairs) if p not in pairs]


def paired_differences(settings: EvalSettings, records: list[GrpoRecord], scores: dict[Hashable, Score],
                       pairs: list[tuple[str, str]] | None = None) -> list[PairedDifference]:
    """`pairs` (default: `comparisons`) paired over records, which the overlap of two conditions' intervals is
    not."""
    out = []
    for first, second in comparisons(settings) if pairs is None else pairs:
        diffs = [a - b for a, b in zip(*paired_rewards(records, scores, first, second), strict=True)]
        ci = mean_ci(diffs, resamples=settings.resamples, seed=settings.seed)
        if ci is not None:
            out.append(PairedDifference(first=first, second=second, n=len(diffs), mean=ci.value, ci_low=ci.low,
                                        ci_high=ci.high, better=sum(d > 0 for d in diffs),
                                        worse=sum(d < 0 for d in diffs)))
    return out


# --------------------------------------------------------------------------- the run


def load_records(data: Path, limit: int | None) -> list[GrpoRecord]:
    """The first `limit` records of an eval parquet (or of a `comem train data grpo` directory's eval.parquet)."""
    path = data / "eval.parquet" if data.is_dir() else data
    records = read_parquet(path, GrpoRecord)[:limit]
    if not records:
        raise ComemError(f"{path} holds no records.", fix="Build held-out records with `comem train data grpo` "
                         "(--eval-fraction > 0, at least two tasks).")
    variants = sorted({r.variant for r in records})
    if len(variants) > 1:
        raise ComemError(f"{path} mixes records of kinds {' and '.join(variants)}, whose agents have other tools.",
                         fix="Evaluate each kind of task from its own `comem train data grpo` directory.")
    return records


def _spec_key(spec: ModelConfig) -> dict[str, Any]:
    """The weights a label stands for and how it decodes: model, URL, adapter by path and content, request options
    (each absent when none, as directories saved before them have it)."""
    named = {"model", "url", "request_options"} if spec.request_options else {"model", "url"}
    key = spec.model_dump(mode="json", include=named)
    if spec.lora is None:
        return key
    return {**key, "lora": str(spec.lora.expanduser().resolve()), "lora_sha256": spec.adapter_sha256()}


def _as_saved(key: Any, saved: Any) -> Any:
    """`key` as a directory saved before adapters were hashed has it (no hash there, none compared)."""
    if isinstance(key, dict) and isinstance(saved, dict) and "lora" in saved and "lora_sha256" not in saved:
        return {k: v for k, v in key.items() if k != "lora_sha256"}
    return key


def _check_settings(out: Path, settings: EvalSettings) -> None:
    """A rerun into `out` must score with the same agent and budgets; memory labels must keep their weights."""
    path = out / "settings.json"
    fixed, memories = settings.fixed(), {m.label: _spec_key(m.model) for m in settings.memories}
    saved = read_settings(path) or {}
    saved_fixed, saved_memories = saved.get("fixed") or {}, saved.get("memories") or {}
    check_resume(out, {**fixed, "agent": _as_saved(fixed["agent"], saved_fixed.get("agent"))}, saved_fixed,
                 {label: _as_saved(key, saved_memories.get(label)) for label, key in memories.items()},
                 saved_memories, label_noun="memory model")
    memories = {**saved_memories, **memories}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fixed": fixed, "memories": memories, "limit": settings.limit}, indent=2) + "\n",
                    encoding="utf-8")


def saved_limit(out: Path) -> int | None:
    """The record limit the last run into `out` used, so a rerun that adds a model scores the same records."""
    return (read_settings(out / "settings.json") or {}).get("limit", DEFAULT_LIMIT)  # EvalSettings validates it


OnProgress = Callable[[str, int, int], None]
ErrorLog = Callable[[Hashable, str], None]


async def eval_memory(settings: EvalSettings, out: Path, *, opener: Opener | None = None,
                      on_progress: OnProgress | None = None, on_error: ErrorLog | None = None) -> EvalReport:
    """Summarise with each memory model, score every condition, write results.json/.md, and return the report."""
    records = sorted(load_records(settings.data, settings.limit), key=lambda r: (r.task_id, r.target_step))
    _check_settings(out, settings)
    open_llm = opener or default_opener(out, settings.concurrency)
    progress = on_progress or (lambda label, done, total: None)
    errors: dict[str, int] = {}

    def count_error(key: Hashable, message: str) -> None:
        condition = key[0] if isinstance(key, tuple) else str(key)
        errors[condition] = errors.get(condition, 0) + 1
        if on_error is not None:
            on_error(key, message)

    summaries = Checkpoint(out / "summaries.jsonl", Summary, key=lambda s: (s.condition, s.record_id))
    for memory in settings.memories:
        label, keys = f"summaries · {memory.label}", [(memory.label, r.record_id) for r in records]
        if all(key in summaries.done for key in keys):
            progress(label, len(keys), len(keys))
            continue
        async with open_llm(memory.model, f"memory-{memory.label}") as llm:
            jobs = [(key, partial(summarise_record, llm, memory.label, r, settings.memory_max_tokens))
                    for key, r in zip(keys, records, strict=True)]
            await run_jobs(jobs, summaries, concurrency=settings.concurrency,
                           on_progress=lambda d, t, label=label: progress(label, d, t), on_error=count_error)

    contexts: list[tuple[tuple[str, str], GrpoRecord, list[Message]]] = []
    for condition in settings.conditions():
        for record in records:
            memory = settings.summarised_by(condition)
            if condition in BASELINES:
                messages = baseline_messages(condition, record, settings.truncate_tokens, settings.ledger_tokens,
                                             settings.memory_max_tokens, settings.keep_calls)
            elif (memory, record.record_id) in summaries.done:
                ledger = settings.ledger_tokens if condition != memory else None
                messages = memory_messages(record, summaries.done[(memory, record.record_id)].summary, ledger,
                                           keep_calls=settings.keep_calls)
            else:
                continue  # its summary failed: counted above, retried on rerun
            contexts.append(((condition, record.record_id), record, messages))
    needed = {record.record_id: output_only_names(record) for record in records}
    kept = {key: share for key, record, messages in contexts
            if (share := kept_share(needed[record.record_id], "\n".join(m.content for m in messages))) is not None}
    scores = Checkpoint(out / "scores.jsonl", Score, key=lambda s: (s.condition, s.record_id))
    if all(key in scores.done for key, _, _ in contexts):
        progress("agent actions", len(contexts), len(contexts))
    else:
        async with open_llm(settings.agent, "agent") as agent:
            variant = records[0].variant
            grammar = await reply_grammar(agent, settings.agent_grammar, variant=variant)
            jobs = [(key, partial(_score, agent, key[0], record, messages, max_tokens=settings.agent_max_tokens,
                                  timeout_s=settings.timeout_s, grammar=grammar))
                    for key, record, messages in contexts]
            await run_jobs(jobs, scores, concurrency=settings.concurrency,
                           on_progress=lambda d, t: progress("agent actions", d, t), on_error=count_error)

    hidden = {"agent": {"api_key"}, "memories": {"__all__": {"model": {"api_key"}}}}
    agreeing = against_full(records, scores.done)
    report = EvalReport(data=str(settings.data), records=len(records),
                        settings=settings.model_dump(mode="json", exclude=hidden),
                        results=summarise(settings, records, scores.done, errors, kept, agreeing),
                        paired=paired_differences(settings, records, scores.done),
                        paired_full=paired_differences(settings, records, agreeing,
                                                       [p for p in comparisons(settings) if "full" not in p]),
                        summaries=summary_stats(settings, records, summaries.done))
    write_report(out, report)
    return report


async def summarise_record(llm: LLM, label: str, record: GrpoRecord, max_tokens: int) -> Summary:
    """One record's memory prompt, summarised greedily. An empty summary is a result (the model's), not an error."""
    messages = [Message(role=t.role, content=t.content) for t in record.prompt]
    done = await llm.chat(messages, max_tokens=max_tokens, temperature=0.0)
    return Summary(condition=label, record_id=record.record_id, summary=done.text.strip(),
                   summary_tokens=done.completion_tokens)


async def _score(agent: LLM, condition: str, record: GrpoRecord, messages: list[Message], *, max_tokens: int,
                 timeout_s: float, grammar: str | None) -> Score:
    """The agent's next action in one context, scored against the record's reference; a failed call raises."""
    turn = await agent_turn(agent, messages, tool_names=variant_tool_names(record.variant), max_tokens=max_tokens,
                            timeout_s=timeout_s, grammar=grammar)
    if turn.failure is not None:
        raise LLMError(f"the agent call {'timed out' if turn.failure == 'timeout' else 'failed'}")
    scored = score_actions(turn.call, record.reference(), record.variant)
    return Score(condition=condition, record_id=record.record_id, predicted=turn.call, reward=scored.reward,
                 name_match=scored.name_match, context_tokens=sum(estimate_tokens(m.content) for m in messages),
                 reply=turn.text)


def action_judge(agent: LLM, *, grammar: str | None, max_tokens: int = default_of(EvalSettings, "agent_max_tokens"),
                 timeout_s: float = default_of(EvalSettings, "timeout_s")) -> Judge:
    """The reward of one summary for one record, scored exactly as a memory condition here is: what reward-filtered
    teacher data (`comem train data sft --samples`) chooses its targets by. A failed agent call raises."""

    async def judge(record: GrpoRecord, summary: str) -> float:
        score = await _score(agent, "judge", record, memory_messages(record, summary), max_tokens=max_tokens,
                             timeout_s=timeout_s, grammar=grammar)
        return score.reward

    return judge


# --------------------------------------------------------------------------- CLI


