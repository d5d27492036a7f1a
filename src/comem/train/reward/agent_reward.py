"""The frozen-agent reward (docs/method.md §7): show the agent a candidate summary, ask it greedily for its
next action, and score that action against the recorded one with `action_consistency`.

`ActionConsistencyReward` is a TRL reward function. TRL calls it synchronously, sometimes from a thread whose
event loop is running, so the agent calls run on a private event loop in a worker thread that lives as long as
the object; the agent client's connection pool stays bound to that one loop across batches.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError, field_validator

from comem.context.base import Pinned
from comem.context.policies import summary_view
from comem.core.actions import parse_action
from comem.core.errors import ComemError
from comem.core.records import Message, Step, ToolCall
from comem.environment.browse.browser import build_browse_tool_specs
from comem.environment.tools import build_tool_specs, tool_grammar
from comem.llm.base import LLM, EngineAware, LLMError
from comem.llm.endpoint import ModelConfig
from comem.train.reward.action_match import Variant, action_consistency

log = logging.getLogger("comem.train.reward")

# The dataset columns the reward reads (one row per reference step; the GRPO data builder writes them).
REWARD_COLUMNS = ("system_prompt", "task_prompt", "covered", "raw_steps", "last_observation", "reference_action",
                  "variant")
T = TypeVar("T")


def agent_messages(system_prompt: str, task_prompt: str, summary: str, covered: int, raw_steps: list[Step], *,
                   last_observation: str | None, ledger: str = "", kept: list[Step] | None = None) -> list[Message]:
    """What the agent sees once the summary (and the ledger, if given) of steps [0, covered) is installed (the
    same as at evaluation); `kept`: the covered steps, whose calls stay under `keep_calls`."""
    return summary_view(Pinned(system=system_prompt, task=task_prompt), summary, covered, raw_steps,
                        last_observation=last_observation, ledger=ledger, kept=kept)


def variant_tool_specs(variant: Variant) -> list[dict[str, Any]]:
    """The tools an agent of this kind of task is given (coding: the workspace's; browsecomp: the browser's)."""
    return build_browse_tool_specs("the document collection") if variant == "browsecomp" else build_tool_specs(60)


@functools.cache
def variant_tool_names(variant: Variant) -> tuple[str, ...]:
    return tuple(spec["function"]["name"] for spec in variant_tool_specs(variant))


async def reply_grammar(agent: LLM, wanted: bool | None = None, *, variant: Variant = "swe",
                        tool_names: Sequence[str] | None = None) -> str | None:
    """The tool-call grammar the agent loop samples under on this engine (`comem.agent.loop`), or None.

    The reward must ask the agent a run deploys: unconstrained, the bundled 0.5B answered in prose after a
    summary or ledger block in a quarter of its replies (8% with no memory block), and every such reply scores 0.
    `wanted` None: where the engine takes grammars (llama.cpp), as in the loop. `tool_names`: which of the
    `variant`'s tools (None: all of them)."""
    if wanted is None:
        wanted = isinstance(agent, EngineAware) and (await agent.engine()).grammar
    if not wanted:
        return None
    specs = [spec for spec in variant_tool_specs(variant)
             if tool_names is None or spec["function"]["name"] in tool_names]
    return tool_grammar(specs)


@dataclass(frozen=True)
class AgentTurn:
    """The agent's parsed action and what it cost; `failure` says why there is no reply at all."""

    call: ToolCall | None
    completion_tokens: int = 0
    failure: Literal["timeout", "error"] | None = None
    text: str = ""  # the reply as written, to see why a call is missing


async def agent_turn(agent: LLM, messages: list[Message], *, tool_names: Sequence[str], max_tokens: int,
                     timeout_s: float, tools: list[dict[str, Any]] | None = None,
                     grammar: str | None = None) -> AgentTurn:
    """One greedy agent call, under `grammar` if given (see `reply_grammar`); the reply's message text (and native
    tool calls) are parsed, never the response object (the original's DeepSWE bug). A timeout or failed call is
    logged and yields no action."""
    try:
        done = await asyncio.wait_for(
            agent.chat(messages, max_tokens=max_tokens, temperature=0.0, tools=tools,
                       **({"grammar": grammar} if grammar else {})), timeout=timeout_s
        )
    except TimeoutError:
        log.warning("agent %s did not answer within %g s; reward 0", agent.model, timeout_s)
        return AgentTurn(call=None, failure="timeout")
    except LLMError as exc:
        log.warning("agent %s call failed (%s); reward 0", agent.model, exc)
        return AgentTurn(call=None, failure="error")
    return AgentTurn(call=parse_action(done, tuple(tool_names)).call, completion_tokens=done.completion_tokens,
                     text=done.text)


async def agent_action(agent: LLM, messages: list[Message], *, tool_names: Sequence[str], max_tokens: int,
                       timeout_s: float, tools: list[dict[str, Any]] | None = None) -> ToolCall | None:
    """The agent's next action at temperature 0, or None (no parsable action, timeout, or LLMError)."""
    turn = await agent_turn(agent, messages, tool_names=tool_names, max_tokens=max_tokens, timeout_s=timeout_s,
                            tools=tools)
    return turn.call


class RewardRow(BaseModel):
    """One dataset row, decoded: JSON-string columns become Steps and a ToolCall."""

    system_prompt: str
    task_prompt: str
    covered: int
    raw_steps: list[Step]
    last_observation: str | None = None
    reference_action: ToolCall | None
    variant: Variant = "swe"

    @field_validator("raw_steps", "reference_action", mode="before")
    @classmethod
    def _decode_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else None
        return value


def rows_from_columns(n: int, columns: dict[str, Any]) -> list[RewardRow]:
    """Rows from TRL's per-column lists; a missing column or a malformed row is a ComemError."""
    missing = [c for c in REWARD_COLUMNS if c not in columns]
    if missing:
        raise ComemError(f"The action-consistency reward needs dataset columns {', '.join(missing)}.",
                         fix=f"build the GRPO data with the columns {', '.join(REWARD_COLUMNS)}.")
    short = [c for c in REWARD_COLUMNS if len(columns[c]) != n]
    if short:
        raise ComemError(f"Reward columns {', '.join(short)} do not have one value per completion ({n}).",
                         fix="pass the dataset columns repeated per completion, as TRL does.")
    rows = []
    for i in range(n):
        try:
            rows.append(RewardRow.model_validate({c: columns[c][i] for c in REWARD_COLUMNS}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ComemError(f"Reward row {i} is malformed at {where}: {first['msg']}.",
                             fix="rebuild the GRPO data; raw_steps and reference_action must be JSON "
                             "(a list of Step dicts, a ToolCall dict or null).") from exc
    return rows


def completion_text(completion: Any) -> str:
    """The summary from a TRL completion: a string, or a conversational list of message dicts."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content") or ""
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content)
    raise ComemError(f"Cannot read a summary from a completion of type {type(completion).__name__}.",
                     fix="pass completions as strings or [{'role': 'assistant', 'content': ...}] lists.")


@dataclass
class RewardStats:
    """Running totals for logging. `no_action`: replies without a parsable tool call."""

    calls: int = 0
    timeouts: int = 0
    errors: int = 0
    no_action: int = 0
    scored: int = 0
    reward_sum: float = 0.0

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.scored if self.scored else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "mean_reward": self.mean_reward}


class ActionConsistencyReward:
    """TRL reward function: for each summary, the frozen agent's action consistency with the reference, in [0, 10].

    Pass an `agent` LLM, or a served agent as a `ModelConfig` (or `base_url` + `model` [+ `api_key`], which are
    read into one) to build an OpenAI-compatible client, then owned and closed by `close()`. At most
    `max_concurrency` agent calls run at once; one over `timeout_s` scores 0. Optionally `length_penalty` × the
    agent's completion tokens is subtracted (floored at 0), as in docs/method.md §7. `grammar`: sample the agent's
    text replies under the loop's tool-call grammar (None: where its engine takes one, as the loop does).
    """

    def __init__(self, agent: LLM | ModelConfig | None = None, *, base_url: str | None = None,
                 model: str | None = None, api_key: str | None = None, max_concurrency: int = 8,
                 timeout_s: float = 180.0, max_tokens: int = 512, tool_names: Sequence[str] | None = None,
                 tool_specs: list[dict[str, Any]] | None = None, length_penalty: float = 0.0,
                 grammar: bool | None = None, name: str = "action_consistency") -> None:
        if (agent is None) == (base_url is None):
            raise ComemError("The reward needs exactly one agent.",
                             fix="pass agent=LLM or ModelConfig(url=..., model=...), or base_url=... and model=....")
        if agent is None and not model:
            raise ComemError(f"No agent model name given for {base_url}.", fix="pass model= (the served model name).")
        if max_concurrency < 1 or timeout_s <= 0 or max_tokens < 1 or length_penalty < 0:
            raise ComemError("The reward's limits must be positive.",
                             fix="use max_concurrency >= 1, timeout_s > 0, max_tokens >= 1, length_penalty >= 0.")
        if agent is None:
            agent = ModelConfig(model=str(model), url=base_url, api_key=api_key, timeout_s=timeout_s)
        if isinstance(agent, ModelConfig) and not agent.url:
            raise ComemError(f"The reward's agent {agent.model!r} has no URL.",
                             fix="serve it (vLLM, SGLang, llama.cpp) and pass its url, or pass an opened LLM.")
        self._owns_agent = isinstance(agent, ModelConfig)
        self.agent: LLM = agent.client() if isinstance(agent, ModelConfig) else agent
        self.max_concurrency, self.timeout_s, self.max_tokens = max_concurrency, timeout_s, max_tokens
        # tool_names None: the tools of each row's kind of task (coding, or the browser's for browsecomp rows)
        self.tool_names, self.tool_specs, self.length_penalty = tool_names, tool_specs, length_penalty
        self.grammar = False if tool_specs else grammar  # native tool calls are never grammar-constrained
        self._grammars: dict[str, str | None] = {}  # per variant, asked of the engine once
        self.__name__ = self.name = name
        self.stats = RewardStats()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{name}-loop", daemon=True)
        self._thread.start()
        self._closed = False

    def __call__(self, completions: list[Any], **kwargs: Any) -> list[float]:
        rows = rows_from_columns(len(completions), kwargs)
        summaries = [completion_text(c) for c in completions]
        before = RewardStats(**asdict(self.stats))
        rewards = self._run(self._score_batch(summaries, rows))
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            log_metric(f"{self.name}/timeouts", float(self.stats.timeouts - before.timeouts))
            log_metric(f"{self.name}/no_action", float(self.stats.no_action - before.no_action))
        return rewards

    async def _score_batch(self, summaries: list[str], rows: list[RewardRow]) -> list[float]:
        for variant in {row.variant for row in rows} - set(self._grammars):
            self._grammars[variant] = await reply_grammar(self.agent, self.grammar, variant=variant,
                                                          tool_names=self.tool_names)
        return list(await asyncio.gather(*(self._score_one(s, r) for s, r in zip(summaries, rows, strict=True))))

    def _names(self, variant: Variant) -> tuple[str, ...]:
        return tuple(self.tool_names) if self.tool_names is not None else variant_tool_names(variant)

    async def _score_one(self, summary: str, row: RewardRow) -> float:
        reward = 0.0
        if row.reference_action is not None and row.reference_action.name.strip():  # else 0 whatever the agent does
            messages = agent_messages(row.system_prompt, row.task_prompt, summary, row.covered, row.raw_steps,
                                      last_observation=row.last_observation)
            async with self._semaphore:
                self.stats.calls += 1
                turn = await agent_turn(self.agent, messages, tool_names=self._names(row.variant),
                                        max_tokens=self.max_tokens, timeout_s=self.timeout_s, tools=self.tool_specs,
                                        grammar=self._grammars[row.variant])
            self.stats.timeouts += turn.failure == "timeout"
            self.stats.errors += turn.failure == "error"
            self.stats.no_action += turn.failure is None and turn.call is None
            reward = action_consistency(turn.call, row.reference_action, row.variant)
            reward = max(reward - self.length_penalty * turn.completion_tokens, 0.0)
        self.stats.scored += 1
        self.stats.reward_sum += reward
        return reward

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise ComemError("This reward function was closed.", fix="create a new ActionConsistencyReward.")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        """Close an owned agent client and stop the private loop. Idempotent."""
        if self._closed:
            return
        if self._owns_agent:
            self._run(self.agent.aclose())
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> ActionConsistencyReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
