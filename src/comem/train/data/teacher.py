"""SFT warm-up data (docs/method.md §6): a teacher model summarises each record's memory prompt.

The prompt is the memory prompt itself, unchanged — the one GRPO trains on and evaluation sends — so the warm-up
does not add the original's "<1000 words" line or its "role: content" transcripts (docs/method.md §10). Any OpenAI-
compatible teacher works (a hosted API, vLLM, or a bundled model through `open_model`). Requests run `concurrency`
at a time; each finished record is appended to `<out>.checkpoint.jsonl` with fsync, so a crash loses only the
requests in flight and a rerun skips finished record ids. A failed record is counted and reported, never fatal,
unless every attempted record failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from comem.core.errors import ComemError
from comem.core.records import Message
from comem.llm.base import LLM, LLMError
from comem.train.data.checkpoint import Checkpoint, JobReport, run_jobs
from comem.train.data.records import ChatTurn, GrpoRecord, SftRecord, write_parquet


def checkpoint_path(out: Path) -> Path:
    """Where `out`'s finished records accumulate: next to it, `sft.parquet` -> `sft.checkpoint.jsonl`."""
    return out.with_name(out.stem + ".checkpoint.jsonl")


@dataclass
class TeacherResult:
    """The written records, and this pass's job report (finished now, skipped as done, failures)."""

    records: list[SftRecord]
    report: JobReport


async def teacher_summaries(
    records: list[GrpoRecord],
    teacher: LLM,
    out: Path,
    *,
    teacher_model: str | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.0,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
    on_error: Callable[[Hashable, str], None] | None = None,
) -> TeacherResult:
    """Summarise every record's prompt with `teacher`, then write the SFT records (input order) to `out`."""
    if not records:
        raise ComemError("No records to summarise.", fix="Pass GRPO records or trajectories that yield some.")
    if max_tokens < 1 or concurrency < 1:
        raise ComemError("max_tokens and concurrency must be at least 1.", fix="e.g. --max-tokens 1024 --concurrency 8")
    name = teacher_model or teacher.model
    checkpoint = Checkpoint(checkpoint_path(out), SftRecord, key=lambda r: r.record_id)
    stale = next((r.record_id for r in records if r.record_id in checkpoint.done
                  and checkpoint.done[r.record_id].prompt != r.prompt), None)
    if stale is not None:
        raise ComemError(f"{checkpoint.path} holds a different prompt for {stale}: the data options changed since "
                         "it was written.", fix="Use a fresh --out, or delete the checkpoint to start over.")

    def job(record: GrpoRecord) -> Callable[[], Awaitable[SftRecord]]:
        async def summarise() -> SftRecord:
            messages = [Message(role=turn.role, content=turn.content) for turn in record.prompt]
            done = await teacher.chat(messages, max_tokens=max_tokens, temperature=temperature)
            summary = done.text.strip()
            if not summary:
                raise LLMError(f"the teacher returned an empty summary (finish_reason={done.finish_reason})")
            return SftRecord(record_id=record.record_id, task_id=record.task_id, prompt=record.prompt,
                             completion=[ChatTurn(role="assistant", content=summary)], teacher_model=name)

        return summarise

    report = await run_jobs([(r.record_id, job(r)) for r in records], checkpoint, concurrency=concurrency,
                            on_progress=on_progress, on_error=on_error)
    if report.failed and not report.finished and not report.skipped:
        key, message = report.errors[0]
        raise ComemError(f"Every teacher request failed ({report.failed}); the first, for {key}: {message}",
                         fix="Check --teacher-url, --teacher-model and the API key, then rerun (finished records "
                             "are kept).")
    done = [checkpoint.done[r.record_id] for r in records if r.record_id in checkpoint.done]
    write_parquet(out, done, SftRecord)
    return TeacherResult(records=done, report=report)
