"""What `sync` and `kso` share: the memory model call, its input format, and summary bookkeeping.

Invariant kept by every memory strategy: the installed memory (summary, ledger or both) stands for steps [0, L)
and the agent sees steps L..n-1 verbatim, so every step is seen exactly once, in the memory or raw.

`memory_view` chooses what stands for the covered steps: the memory model's `summary`, the `ledger` extracted
from the steps (context/ledger.py), both, or `recent`: the newest covered steps a line each (context/recent.py),
in the summary's place and budget. `ledger` and `recent` need no memory model at all: an update is complete the
moment it is launched, so the agent never waits for it.

`keep_calls` chooses what the memory replaces. Off (the paper's), the covered steps leave the prompt and the
memory block closes the task message. On, the covered steps stay as the agent's own turns (thought and call)
with their outputs masked as the `mask` strategy masks them, and the memory block closes the last covered
step's output: the memory stands for old outputs only and the agent keeps the sequence of its own calls
(docs/method.md §3.2); an update changes the prompt from the previous memory block on.
"""

from __future__ import annotations

import asyncio
import functools
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from comem.context.base import AgentContext, ContextStrategy, Pinned, estimate_tokens, step_messages, view_budget
from comem.context.ledger import ledger_text
from comem.context.mask import MaskConfig, masked_steps
from comem.context.recent import recent_text
from comem.core.actions import to_xml
from comem.core.config import StrictModel
from comem.core.errors import ComemError
from comem.core.records import MemoryRecord, MemoryView, Message, Step
from comem.llm.base import LLMError


class MemorySettings(StrictModel):
    """Settings shared by every strategy that summarises with a memory model (and by the training data builder).

    The defaults are sized for the default models on a CPU (a 0.5B memory model on one core writes ~128 tokens in
    about the time the agent takes for 4 steps); on GPUs the paper's k = 2..4 with longer summaries is the start.
    """

    k: int | None = Field(default=4, ge=1)  # period in steps; None = token trigger only
    trigger_tokens: int | None = Field(default=None, ge=1)  # also summarise once the context estimate exceeds this
    memory_input: Literal["from_scratch", "incremental"] = "from_scratch"
    memory_prompt: Path | None = None  # template with {conversation}; default: the paper's v5 prompt
    memory_max_tokens: int = Field(default=128, ge=1)
    memory_timeout_s: float = Field(default=300.0, gt=0)
    memory_obs_chars: int = Field(default=4000, ge=0)  # observations cut to head+tail of this size; 0: no cut
    memory_view: MemoryView = "summary"  # what stands for the covered steps
    ledger_tokens: int = Field(default=256, ge=16)  # the ledger's budget (estimated tokens)
    keep_calls: bool = False  # covered steps stay as the agent's turns, outputs masked; the memory stands for those

    @model_validator(mode="after")
    def _check(self) -> MemorySettings:
        if self.k is None and self.trigger_tokens is None:
            raise ValueError("set k (a step period) or trigger_tokens, or both")
        return self

    def needs_memory(self) -> bool:
        """Only a summary is generated: a ledger or the recent steps are extracted, and no memory model is loaded
        for them."""
        return self.memory_view in ("summary", "both")

    @property
    def keeps_ledger(self) -> bool:
        return self.memory_view in ("ledger", "both")


def load_prompt(name_or_path: str | Path) -> str:
    """A bundled prompt by file name, or a user's template file."""
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    bundled = _bundled_prompt(str(name_or_path))
    if bundled is not None:
        return bundled
    raise ComemError(f"Prompt template {name_or_path} not found.", fix="pass an existing file path.")


@functools.cache
def _bundled_prompt(name: str) -> str | None:
    """A bundled template, read once: every rendered context needs one (the summary block)."""
    bundled = resources.files("comem.prompts") / name
    return bundled.read_text(encoding="utf-8") if bundled.is_file() else None


def fill(template: str, **fields: str) -> str:
    """Substitute only the named `{field}`s, so literal braces (JSON examples) survive."""
    for key, value in fields.items():
        template = template.replace("{" + key + "}", value)
    return template


def clip_middle(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + "\n... [truncated] ...\n" + text[-half:]


class MemoryInput:
    """Formats histories for the memory model (docs/method.md §2). No I/O: training data builds the same prompts."""

    def __init__(self, settings: MemorySettings) -> None:
        self.settings = settings
        self.template = load_prompt(settings.memory_prompt or "memory_v5.txt")
        if "{conversation}" not in self.template:
            raise ComemError("The memory prompt has no {conversation} field.", fix="add {conversation} to it.")

    def conversation(self, system: str, task: str, steps: list[Step], previous: str | None) -> str:
        parts = [f"SYSTEM PROMPT:\n```\n{system}\n```\n", f"INITIAL USER PROMPT:\n```\n{task}\n```\n"]
        if previous is not None:
            parts.append(f"SUMMARY OF EARLIER STEPS:\n```\n{previous}\n```\n")
        for step in steps:
            action = to_xml(step.action) if step.action else ""
            obs = clip_middle(step.observation, self.settings.memory_obs_chars)
            parts.append(
                f"THOUGHT:\n```\n{step.thought}\n```\nACTION:\n```\n{action}\n```\n\nOBSERVATION:\n```\n{obs}\n```\n"
            )
        return "".join(parts)

    def prompt(self, conversation: str) -> str:
        return fill(self.template, conversation=conversation)


def summary_messages(pinned: Pinned, summary: str, covered: int, raw_steps: list[Step], *,
                     ledger: str = "", kept: list[Step] | None = None) -> list[Message]:
    """What the agent sees once the memory of steps [0, covered) is installed: the pinned system prompt, the task
    with the summary block (if there is a summary) and the ledger block (if there is a ledger) appended, then the
    raw steps after it. With `kept` (the covered steps, under `keep_calls`) the task stays as it is and the covered
    steps follow as the agent's turns with masked outputs, the memory blocks closing the last one's output.
    Training rewards and `comem eval-memory` show the agent exactly this."""
    block = memory_block(summary, covered, ledger)
    messages = [Message(role="system", content=pinned.system)]
    if kept is None:
        messages.append(Message(role="user", content=pinned.task + block))
    else:
        if len(kept) != covered:
            raise ValueError(f"kept holds {len(kept)} steps; the memory covers {covered}")
        messages.append(Message(role="user", content=pinned.task))
        messages += masked_steps(kept, MaskConfig(keep_last=0), after_last=block)
    for step in raw_steps:
        messages += step_messages(step)
    return messages


def memory_block(summary: str, covered: int, ledger: str = "") -> str:
    """The text that stands for steps [0, covered): the summary block, the ledger block, or both."""
    block = fill(load_prompt("summary_block.txt"), covered=str(covered), summary=summary) if summary else ""
    if ledger:
        block += fill(load_prompt("ledger_block.txt"), covered=str(covered), ledger=ledger)
    return block


def keeps_calls(arm: object) -> bool:
    """An arm whose memory keeps the covered steps' calls (only memory strategies have the setting)."""
    return isinstance(arm, MemorySettings) and arm.keep_calls


def block_index(covered: int, keep_calls: bool) -> int:
    """Which of `summary_messages`' messages holds the memory blocks: the task, or the last covered output."""
    return 2 * covered + 1 if keep_calls and covered else 1


class MemoryStrategy(ContextStrategy):
    """Base of `sync` and `kso`: launches summaries, installs them, renders summary + raw steps."""

    config: MemorySettings
    uses_memory = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.memory_llm is None and self.config.needs_memory():
            raise ComemError(f"Strategy {self.name!r} needs a memory model for its summaries.",
                             fix="pass --memory-model or --memory-url, or set memory_view: ledger or recent.")
        self.memory = MemoryInput(self.config)
        self.installed: MemoryRecord | None = None
        self._next_id = 0

    @property
    def covered(self) -> int:
        """L: the installed summary stands for steps [0, L)."""
        return self.installed.covers[1] if self.installed else 0

    def over_token_budget(self, steps: list[Step]) -> bool:
        budget = self.config.trigger_tokens
        return budget is not None and self.render(steps, 0.0).tokens_est > budget

    def launch(self, steps: list[Step], end: int, n: int) -> tuple[MemoryRecord, asyncio.Future[MemoryRecord]]:
        """Start summarising steps [0, end) in the background; a ledger or recent view of [0, end) is extracted at
        once."""
        incremental = self.config.memory_input == "incremental" and self.installed is not None
        start = self.covered if incremental else 0
        previous = self.installed.summary if incremental and self.installed else None
        text = self.memory.conversation(self.pinned.system, self.pinned.task, steps[start:end], previous) \
            if self.config.needs_memory() else ""
        record = MemoryRecord(
            id=self._next_id, strategy=self.name, mode="incremental" if incremental else "from_scratch",
            view=self.config.memory_view, covers=(start, end), launch_step=n, input_chars=len(text),
            launched_s=self.clock.now(),
            covered_tokens_est=sum(estimate_tokens(s.response + s.observation) for s in steps[:end]),
        )
        if self.config.keeps_ledger:
            record.ledger = ledger_text(steps[:end], self.pinned.task, self.config.ledger_tokens)
        if self.config.memory_view == "recent":
            record.summary = recent_text(steps[:end], view_budget(self.config.memory_max_tokens))
        self._next_id += 1
        if self.config.needs_memory():
            return record, asyncio.create_task(self._run(record, self.memory.prompt(text)))
        # An extracted view is complete at launch. It is still installed by the schedule's collect step, so the
        # raw windows are those of the summary arms and only the memory model's latency differs.
        record.status, record.finished_s = "ok", record.launched_s
        done: asyncio.Future[MemoryRecord] = asyncio.get_running_loop().create_future()
        done.set_result(record)
        return record, done

    async def _run(self, record: MemoryRecord, prompt: str) -> MemoryRecord:
        """Call the memory model; never raises — a failure is recorded and the agent falls back."""
        try:
            done = await asyncio.wait_for(
                self.memory_llm.chat([Message(role="user", content=prompt)],
                                     max_tokens=self.config.memory_max_tokens, temperature=0.0),
                timeout=self.config.memory_timeout_s,
            )
            summary = done.text.strip()
            if not summary:
                raise LLMError("the memory model returned an empty summary")
            record.summary, record.status = summary, "ok"
            record.input_tokens, record.summary_tokens = done.prompt_tokens, done.completion_tokens
            record.cached_tokens = done.cached_tokens
        except (LLMError, TimeoutError) as exc:
            record.status = "error"
            record.error = str(exc) or f"timed out after {self.config.memory_timeout_s} s"
        record.finished_s = self.clock.now()
        return record

    def settle(self, record: MemoryRecord, n: int, waited_s: float) -> None:
        """A finished update: install it if it succeeded (the agent falls back otherwise), then log it."""
        record.exposed_wait_s += waited_s
        if record.status == "ok":
            record.installed_step = n
            self.installed = record
        self.on_memory(record)

    async def rewind(self, n: int) -> None:
        """Drop the installed summary if it covers steps the history no longer has (steps ≥ n)."""
        if self.covered > n:
            self.installed = None

    def adopt(self, record: MemoryRecord) -> None:
        """Install a summary made earlier for this history (state restored after a restart)."""
        self.installed = record
        self._next_id = max(self._next_id, record.id + 1)

    def render(self, steps: list[Step], waited_s: float) -> AgentContext:
        """Summary + raw steps L..n-1; before the first summary, the full native history."""
        if self.installed is None:
            ctx = self.full_history(steps)
            ctx.memory_wait_s = waited_s
            return ctx
        L = self.covered
        messages = installed_messages(self.pinned, self.installed, steps, keep_calls=self.config.keep_calls)
        return AgentContext(messages=messages, raw_from=L, summary_id=self.installed.id, memory_wait_s=waited_s)


def installed_messages(pinned: Pinned, record: MemoryRecord, steps: list[Step], *, keep_calls: bool) -> list[Message]:
    """The context at iteration len(steps) with `record` installed: what a memory strategy renders, and what the
    viewer rebuilds from a trajectory."""
    covered = record.covers[1]
    return summary_messages(pinned, record.summary, covered, steps[covered:], ledger=record.ledger,
                            kept=steps[:covered] if keep_calls else None)
