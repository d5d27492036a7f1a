"""The memory model's training records, and their parquet files (pyarrow, from the `train` extra).

GRPO record — one per (trajectory, target step t), t >= 1; the memory model summarises steps [0, covered) and
the frozen agent, shown that summary plus the raw steps after it, should pick the recorded action at step t:

    record_id          str   "{task_id}:{t}", unique within a data set
    task_id            str   the trajectory's name (its instance id); splits never share a task
    source             str   where the trajectories were loaded from (path as given)
    target_step        int   t: the step whose recorded action is the reference
    retain             int   r: recent steps the agent sees raw after the summary (0 = the original's setting)
    covered            int   t - r: the summary stands for steps [0, covered); always >= 1
    prompt             list  [{"role": "user", "content": <memory prompt>}] — the memory model's input, exactly
                             `MemoryInput(settings).prompt(conversation(system, task, steps[:covered], None))`,
                             i.e. what the memory model is sent at evaluation (TRL's conversational format)
    system_prompt      str   the trajectory's pinned system prompt
    task_prompt        str   the trajectory's pinned task prompt
    raw_steps          str   JSON list of steps[covered:t] as `Step` dicts — what the agent sees verbatim after
                             the summary (empty when r = 0)
    last_observation   str   steps[t-1].observation — the agent's only raw input when r = 0
    reference_action   str   JSON of steps[t].action as a `ToolCall` dict {name, arguments, id}
    variant            str   "swe" or "browsecomp": which reward weights score the action
    history            str   JSON list of steps[:t] as `Step` dicts — for the full-context and truncation baselines

SFT record — the same memory prompt with a teacher's summary (TRL SFTTrainer's prompt-completion format):

    record_id          str   the GRPO record it came from
    task_id            str   as above
    prompt             list  [{"role": "user", "content": <memory prompt>}]
    completion         list  [{"role": "assistant", "content": <teacher summary>}]
    teacher_model      str   the model name the teacher server answered to
    candidates         int   summaries in this prompt's pool: the teacher's (the first greedy) and any extractive
                             views (comem.train.data.extractive); the best is kept
    scored             int   of those, how many were made and scored (fewer when one reached the maximum reward:
                             a later one could only tie; null: not scored or old data)
    reward             float the judge's reward for the kept summary (null: not scored)
    first_reward       float the judge's reward for the greedy summary (null: not scored)
    finished           bool  the kept summary ended on its own (false: cut at the budget; null: not recorded)
    kept               str   which candidate won: "teacher:I" (0 the greedy one) or a view's name (null: old data)

`prompt` and `completion` are stored as parquet lists of {role, content} structs, so `datasets` reads them back
as lists of message dicts. Reading a file checks its columns and every row; a bad file is one `ComemError`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from comem.core.errors import ComemError
from comem.core.records import Step, ToolCall
from comem.llm.checkpoint import TRAIN_EXTRA_FIX
from comem.train.reward.action_match import Variant


class ChatTurn(BaseModel):
    """One message of a conversational prompt or completion."""

    role: Literal["system", "user", "assistant"]
    content: str


class GrpoRecord(BaseModel):
    """One GRPO prompt: what the memory model summarises, and what the agent must do next (see module doc)."""

    record_id: str
    task_id: str
    source: str
    target_step: int = Field(ge=1)
    retain: int = Field(ge=0)
    covered: int = Field(ge=1)
    prompt: list[ChatTurn]
    system_prompt: str
    task_prompt: str
    raw_steps: str
    last_observation: str
    reference_action: str
    variant: Variant
    history: str

    def raw(self) -> list[Step]:
        """steps[covered:t], the agent's verbatim window after the summary."""
        return _steps(self.raw_steps, self.record_id, "raw_steps")

    def history_steps(self) -> list[Step]:
        """steps[:t], the whole history before the target."""
        return _steps(self.history, self.record_id, "history")

    def reference(self) -> ToolCall:
        try:
            return ToolCall.model_validate_json(self.reference_action)
        except ValidationError as exc:
            raise ComemError(f"Record {self.record_id}: reference_action is not a tool call ({_first(exc)}).",
                             fix="Rebuild the data with `comem train data grpo`.") from None


class SftRecord(BaseModel):
    """One supervised example: the memory prompt and a teacher's summary of it."""

    record_id: str
    task_id: str
    prompt: list[ChatTurn]
    completion: list[ChatTurn]
    teacher_model: str
    candidates: int = Field(default=1, ge=1)
    scored: int | None = Field(default=None, ge=1)
    reward: float | None = None
    first_reward: float | None = None
    finished: bool | None = None  # the summary ended on its own; False: cut at the token budget; None: not recorded
    kept: str | None = None  # which candidate won: "teacher:I" (0 greedy, then the samples) or an extractive view


R = TypeVar("R", GrpoRecord, SftRecord)


def require_pyarrow() -> tuple[ModuleType, ModuleType]:
    """(pyarrow, pyarrow.parquet), or one error naming the extra that brings them."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ComemError("Reading and writing training data needs pyarrow, which is not installed.",
                         fix=TRAIN_EXTRA_FIX) from None


def _schema(kind: type[BaseModel]) -> Any:
    pa, _ = require_pyarrow()
    turns = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    types = {str: pa.string(), int: pa.int64(), int | None: pa.int64(), float | None: pa.float64(),
             bool | None: pa.bool_(), str | None: pa.string(), list[ChatTurn]: turns, Variant: pa.string()}
    return pa.schema([(name, types[field.annotation]) for name, field in kind.model_fields.items()])


def write_parquet(path: Path, records: list[GrpoRecord] | list[SftRecord], kind: type[R]) -> None:
    """Write records of one kind (an empty list writes an empty file with the full schema)."""
    pa, pq = require_pyarrow()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([r.model_dump(mode="json") for r in records], schema=_schema(kind))
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)  # never leave a half-written file under the real name


def read_parquet(path: Path, kind: type[R]) -> list[R]:
    """Read and validate records of one kind; a missing file, missing columns or a bad row is a ComemError."""
    _, pq = require_pyarrow()
    fix = ("Pass a file written by `comem train data grpo` (train.parquet / eval.parquet)" if kind is GrpoRecord
           else "Pass a file written by `comem train data sft`") + "."
    if not path.is_file():
        raise ComemError(f"{path} does not exist.", fix=fix)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError family for corrupt files
        raise ComemError(f"{path} is not a readable parquet file ({type(exc).__name__}: {exc}).", fix=fix) from None
    missing = [name for name, field in kind.model_fields.items()  # files from before a defaulted column still read
               if name not in table.column_names and field.is_required()]
    if missing:
        raise ComemError(f"{path} lacks the column(s) {', '.join(missing)}.", fix=fix)
    out = []
    for i, row in enumerate(table.select([n for n in kind.model_fields if n in table.column_names]).to_pylist()):
        try:
            out.append(kind.model_validate(row))
        except ValidationError as exc:
            raise ComemError(f"{path}: row {i} is malformed ({_first(exc)}).", fix=fix) from None
    return out




def _steps(text: str, record_id: str, column: str) -> list[Step]:
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError("not a JSON list")
        return [Step.model_validate(row) for row in rows]
    except (ValueError, ValidationError) as exc:
        detail = _first(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ComemError(f"Record {record_id}: {column} is not a list of steps ({detail}).",
                         fix="Rebuild the data with `comem train data grpo`.") from None


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))
