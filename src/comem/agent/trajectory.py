"""What an episode records, and the append-only JSONL file it goes to.

Every line is one record with a `type` field (`episode_start`, `step`, `memory`, `episode_end`), written and
flushed as soon as it exists, so a crash loses at most the step in flight.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from comem.environment.base import ToolCall


class Step(BaseModel):
    """One agent turn: thought + action + observation, with what it cost and what context produced it."""

    type: Literal["step"] = "step"
    index: int
    thought: str
    response: str  # the raw assistant text, replayed verbatim in later prompts
    action: ToolCall | None
    observation: str
    format_error: bool = False
    # cost
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None
    agent_ttft_s: float = 0.0
    agent_total_s: float = 0.0
    tool_s: float = 0.0
    memory_wait_s: float = 0.0  # time the agent waited for the memory model before this step (exposed)
    # context the agent saw
    context_messages: int = 0
    context_chars: int = 0
    summary_id: int | None = None  # the MemoryRecord whose summary was in the prompt, if any
    raw_from: int = 0  # raw steps raw_from..index-1 were verbatim in the prompt
    started_s: float = 0.0  # seconds since episode start
    finished_s: float = 0.0


class MemoryRecord(BaseModel):
    """One memory update: which steps it covers, what it cost, and how much of its latency was hidden."""

    type: Literal["memory"] = "memory"
    id: int
    strategy: str
    mode: Literal["from_scratch", "incremental"]
    covers: tuple[int, int]  # steps [start, end) — from_scratch always starts at 0
    launch_step: int  # the iteration n at which it was launched
    installed_step: int | None = None
    status: Literal["pending", "ok", "error", "superseded"] = "pending"
    error: str | None = None
    summary: str = ""
    input_chars: int = 0
    input_tokens: int = 0  # as reported by the memory server (0 if it reports none)
    cached_tokens: int | None = None  # of those, served from its prefix cache (None: the server does not say)
    covered_tokens_est: int = 0  # estimated tokens of the raw steps the summary replaces
    summary_tokens: int = 0
    launched_s: float = 0.0
    finished_s: float | None = None
    exposed_wait_s: float = 0.0  # time the agent actually blocked on this update

    @property
    def latency_s(self) -> float:
        return 0.0 if self.finished_s is None else self.finished_s - self.launched_s

    @property
    def hidden_s(self) -> float:
        return max(0.0, self.latency_s - self.exposed_wait_s)


ExitReason = Literal[
    "submitted", "step_limit", "token_limit", "time_limit", "llm_error", "format_errors", "interrupted"
]


class EpisodeStart(BaseModel):
    type: Literal["episode_start"] = "episode_start"
    instance_id: str
    strategy: str
    config: dict[str, Any] = Field(default_factory=dict)
    system_prompt: str
    task_prompt: str


class EpisodeEnd(BaseModel):
    type: Literal["episode_end"] = "episode_end"
    instance_id: str
    strategy: str
    exit_reason: ExitReason
    error: str | None = None
    steps: int
    resolved: bool | None = None  # None until graded
    grade_error: str | None = None
    grade_detail: dict[str, Any] = {}  # what the grader said beyond yes/no (a judge's reasoning, test results)
    patch: str = ""
    wall_s: float
    agent_s: float
    tool_s: float
    memory_wait_s: float
    max_prompt_tokens: int
    memory_updates: int


class TrajectoryWriter:
    """Appends records to a JSONL file, flushing and fsyncing each line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = path.open("a", encoding="utf-8")

    def write(self, record: BaseModel) -> None:
        self._fh.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_records(path: Path) -> list[BaseModel]:
    """Parse a trajectory file back into typed records; a torn last line (crash mid-write) is skipped."""
    kinds: dict[str, type[BaseModel]] = {
        "step": Step, "memory": MemoryRecord, "episode_start": EpisodeStart, "episode_end": EpisodeEnd,
    }
    out: list[BaseModel] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        out.append(kinds[data["type"]].model_validate(data))
    return out
