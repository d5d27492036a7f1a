"""SFT warm-up data (docs/method.md §6): a teacher model summarises each record's memory prompt.

The prompt is the memory prompt itself, unchanged — the one GRPO trains on and evaluation sends — so the warm-up
does not add the original's "<1000 words" line or its "role: content" transcripts (docs/method.md §10). Any OpenAI-
compatible teacher works (a hosted API, vLLM, or a bundled model through `open_model`). Requests run `concurrency`
at a time; each finished record is appended to `<out>.checkpoint.jsonl` with fsync, so a crash loses only the
requests in flight and a rerun skips finished record ids. A failed record is counted and reported, never fatal,
unless every attempted record failed.

Reward-filtered data (`samples` > 1 with a `judge`): the teacher writes one greedy summary and `samples - 1`
sampled ones, the judge (the frozen agent's action-consistency reward, `comem.train.eval_memory.action_judge`)
scores each, and the best is kept, the first on ties, so the greedy summary wins unless a sample does better.
Candidates are made and scored in turn, and a finished one at the maximum reward ends the record's turn: a later
candidate could only tie, and ties keep the first, so its teacher and agent calls would change nothing. The
SFT target is then the summary that kept the agent on course, not just the teacher's first try: rejection-sampling
fine-tuning, GRPO's objective in its cheapest offline form. Both rewards are recorded; `min_reward` leaves records
whose best is below it out of the written file (they stay in the checkpoint).

Extractive candidates (`extractive`, docs/method.md §6): deterministic views of the covered steps
(comem.train.data.extractive: the ledger, the newest steps' calls and results) join the teacher's summaries and
are scored alike; `kept` records which candidate won. The student learns whatever kept the agent on course.

A summary cut at `max_tokens` is not a target: SFT ends every completion with the end-of-turn token, so a cut one
would teach the model to stop mid-sentence. A finished candidate beats a cut one whatever their rewards, and a
record whose kept summary was still cut is left out of the written file (it stays in the checkpoint).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from comem.core.errors import ComemError
from comem.core.records import Message
from comem.llm.base import LLM, LLMError
from comem.train.data.checkpoint import Checkpoint, JobReport, run_jobs
from comem.train.data.extractive import VIEWS
from comem.train.data.records import ChatTurn, GrpoRecord, SftRecord, write_parquet
from comem.train.reward.action_match import SCALE

Judge = Callable[[GrpoRecord, str], Awaitable[float]]  # (record, summary) -> reward in [0, 10]


def checkpoint_path(out: Path) -> Path:
    """Where `out`'s finished records accumulate: next to it, `sft.parquet` -> `sft.checkpoint.jsonl`."""
    return out.with_name(out.stem + ".checkpoint.jsonl")


@dataclass
class TeacherResult:
    """The written records, and this pass's job report (finished now, skipped as done, failures)."""

    records: list[SftRecord]
    report: JobReport
    cut: int = 0  # records left out because every summary of theirs reached max_tokens


async def teacher_summaries(
    records: list[GrpoRecord],
    teacher: LLM | None,
    out: Path,
    *,
    teacher_model: str | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.0,
    samples: int = 1,
    extractive: Sequence[str] = (),
    judge: Judge | None = None,
    min_reward: float | None = None,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
    on_error: Callable[[Hashable, str], None] | None = None,
) -> TeacherResult:
    """Summarise every record's prompt with `teacher` (best of `samples` and the `extractive` views by `judge`),
    then write the SFT records (input order) to `out`. With `samples` 0 there is no teacher: the best view wins."""
    if not records:
        raise ComemError("No records to summarise.", fix="Pass GRPO records or trajectories that yield some.")
    if max_tokens < 1 or concurrency < 1 or samples < 0:
        raise ComemError("max_tokens and concurrency must be at least 1, samples at least 0.",
                         fix="e.g. --max-tokens 1024 --concurrency 8 --samples 1")
    if samples == 0 and not extractive:
        raise ComemError("With no teacher samples and no extractive views there is nothing to choose from.",
                         fix="give --samples 1 or more, or --extractive ledger,recent with --samples 0.")
    if samples and teacher is None:
        raise ComemError(f"{samples} teacher sample(s) per record need a teacher.", fix="pass --teacher-model.")
    if samples > 1 and (judge is None or temperature <= 0):
        raise ComemError(f"{samples} samples per record need a judge to choose among them and a temperature above 0.",
                         fix="e.g. --samples 4 --temperature 0.8 with --agent-model (the agent that scores them).")
    unknown = [name for name in extractive if name not in VIEWS]
    if unknown:
        raise ComemError(f"unknown extractive view(s): {', '.join(unknown)}.", fix=f"use some of: {', '.join(VIEWS)}.")
    if extractive and samples + len(extractive) > 1 and judge is None:  # one view alone is every record's target
        raise ComemError("Extractive views are candidates beside the teacher's summaries, and there is no judge to "
                         "choose among them.", fix="pass --agent-model (the agent that scores the summaries), or "
                         "name one view with --samples 0.")
    if min_reward is not None and judge is None:
        raise ComemError("min_reward filters by the judge's reward, and there is no judge.",
                         fix="pass --agent-model (the agent that scores the summaries), or drop --min-reward.")
    name = teacher_model or (teacher.model if teacher is not None and samples else "none (extractive views)")
    checkpoint = Checkpoint(checkpoint_path(out), SftRecord, key=lambda r: r.record_id)
    stale = next((r.record_id for r in records if r.record_id in checkpoint.done
                  and checkpoint.done[r.record_id].prompt != r.prompt), None)
    if stale is not None:
        raise ComemError(f"{checkpoint.path} holds a different prompt for {stale}: the data options changed since "
                         "it was written.", fix="Use a fresh --out, or delete the checkpoint to start over.")
    scored, pool = judge is not None, samples + len(extractive)
    other = next((r for r in checkpoint.done.values() if r.candidates != pool or (r.reward is not None) != scored),
                 None)
    if other is not None:
        raise ComemError(f"{checkpoint.path} was written with {other.candidates} candidate(s) per record, "
                         f"{'scored' if other.reward is not None else 'unscored'}; this run asks for {pool}, "
                         f"{'scored' if scored else 'unscored'}.",
                         fix="Use a fresh --out, or the same --samples, --extractive and agent as the first run.")

    def job(record: GrpoRecord) -> Callable[[], Awaitable[SftRecord]]:
        messages = [Message(role=turn.role, content=turn.content) for turn in record.prompt]

        async def teacher_sample(i: int) -> tuple[str, bool]:
            done = await teacher.chat(messages, max_tokens=max_tokens,
                                      temperature=temperature if samples == 1 or i else 0.0)
            if not done.text.strip():
                raise LLMError(f"the teacher returned an empty summary (finish_reason={done.finish_reason})")
            return done.text.strip(), done.finish_reason != "length"

        async def view_of(name: str) -> tuple[str, bool]:
            return VIEWS[name](record, max_tokens), True

        makers = [(f"teacher:{i}", functools.partial(teacher_sample, i))
                  for i in range(samples if teacher is not None else 0)]
        makers += [(view, functools.partial(view_of, view)) for view in extractive]

        async def summarise() -> SftRecord:
            candidates, finished, rewards, labels = [], [], [], []
            for label, make in makers:  # in turn: the teacher's prefix cache keeps the prompt
                text, whole = await make()
                reward = await judge(record, text) if judge else None
                candidates.append(text)
                finished.append(whole)
                rewards.append(reward)
                labels.append(label)
                if whole and reward is not None and reward >= SCALE:
                    break  # a finished summary at the maximum: a later one can only tie, and ties keep the first
            best = max(range(len(candidates)), key=lambda i: (finished[i], rewards[i] or 0.0, -i))
            return SftRecord(record_id=record.record_id, task_id=record.task_id, prompt=record.prompt,
                             completion=[ChatTurn(role="assistant", content=candidates[best])], teacher_model=name,
                             candidates=len(makers), scored=len(candidates) if judge else None,
                             reward=rewards[best], first_reward=rewards[0] if samples else None,
                             finished=finished[best], kept=labels[best])

        return summarise

    report = await run_jobs([(r.record_id, job(r)) for r in records], checkpoint, concurrency=concurrency,
                            on_progress=on_progress, on_error=on_error)
    if report.failed and not report.finished and not report.skipped:
        key, message = report.errors[0]
        raise ComemError(f"Every teacher request failed ({report.failed}); the first, for {key}: {message}",
                         fix="Check --teacher-url, --teacher-model and the API key, then rerun (finished records "
                             "are kept).")
    done = [checkpoint.done[r.record_id] for r in records if r.record_id in checkpoint.done]
    whole = [r for r in done if r.finished is not False]
    if done and not whole:
        raise ComemError(f"Every summary reached the {max_tokens}-token budget; a cut summary is no SFT target.",
                         fix="Raise --max-tokens and rerun into a fresh --out (these stay in the checkpoint).")
    kept = [r for r in whole if min_reward is None or (r.reward is not None and r.reward >= min_reward)]
    write_parquet(out, kept, SftRecord)
    return TeacherResult(records=kept, report=report, cut=len(done) - len(whole))
