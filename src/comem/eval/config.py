"""The run configuration of `comem run` and `comem eval`: which tasks, which arms (context strategies), which
models, how many seeds and episodes at once. One model, `EvalConfig`, read from YAML and overridden by flags.

`comem run` is this model's defaults (the bundled suite, arms `full` and `kso` with the strategies' own defaults,
seed 0, one episode at a time) with `comem run`'s flags on top, and without a task selection the quick job's tasks
and step limit (`quick_job`); `comem eval CONFIG.yaml` reads a file. A YAML file
holds the same fields, e.g.

    tasks: [bundled]       # task sources: bundled, a task directory, a SWE-bench-style JSONL, prefix:ARGS
    arms:
      - full               # a string in the arm grammar (comem.context.arms), or a mapping
      - {name: kso, k: 2}
      - {name: kso, k: 4, label: kso-k4, late_policy: stale, max_wait_s: 5}
    agent: {model: qwen2.5-coder-1.5b, threads: 2}
    memory: {model: qwen2.5-coder-0.5b, threads: 2}
    loop: {max_steps: 20}
    seeds: [0, 1]
    concurrency: 2

Every level forbids unknown keys: a typo is an error naming the nearest valid key, never a silent default.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from comem.agent.loop import AgentConfig
from comem.context import ArmConfig, StrategyConfig, parse_arm, with_defaults, with_options
from comem.core.config import StrictModel, load_yaml_config
from comem.llm.endpoint import AGENT_ENGINE, ModelConfig, on_agent_engine, summary_defaults, thread_plan
from comem.tasks.sources import BUNDLED

# The agent of `comem run` and `comem eval` unless a model or URL is named: the bundled model that solves tasks (the
# 1.5B solved unitconv-fahrenheit in 4 of 5 episodes, the 0.5B no bundled task in any run; docs/results.md
# §8). Elsewhere (gateway, benchmarks, training) the default is the faster 0.5B, `comem.llm.models.DEFAULT_MODEL`.
RUN_AGENT_MODEL = "qwen2.5-coder-1.5b"

# `comem run` without a task selection: the quick job, about 10 minutes on 2 CPU cores with the 1.5B agent
# (docs/results.md §8.5). `comem run --all` runs the whole suite.
QUICK_TASK_IDS = ("daterange-len", "ratelimit-burst-cap", "semver-bump-minor", "unitconv-fahrenheit")
QUICK_MAX_STEPS = 12


def quick_job(overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` with the quick job's tasks and step limit where they select neither tasks nor a step limit."""
    if any(key in overrides for key in ("tasks", "task_ids", "limit")):
        return overrides
    loop = {"max_steps": QUICK_MAX_STEPS, **overrides.get("loop", {})}
    return {**overrides, "task_ids": list(QUICK_TASK_IDS), "loop": loop}


# Memory settings for a memory model on this CPU, chosen from measurements (docs/results.md §1.0). On a server of
# its own (a share of the cores), a from-scratch update grows with the history (33-70 s at steps 30-100 with the
# 0.5B on one idle core) where an incremental one stays flat (23 s), and neither fits the `wait` policy's one agent
# step of slack (about 9 s), while `deadline` gives it k steps (34 s at k = 4). On the agent's own engine (`memory:
# agent`) nothing hides, and `deadline`'s late installs cost re-prefill and long overlaps: in a 60-step replay
# kso-k4 ran 1.42x `full` with `wait` against 1.06x with `deadline`, so there it keeps the strategy's `wait`. An arm
# that sets a field keeps its own; served models keep the strategy's (the paper's) defaults.
CPU_MEMORY_DEFAULTS = {"memory_input": "incremental", "late_policy": "deadline"}
AGENT_ENGINE_DEFAULTS = {"memory_input": "incremental"}


def default_arms() -> list[StrategyConfig]:
    """`full` and `kso`, each with its strategy's defaults."""
    return [parse_arm("full"), parse_arm("kso")]


class EvalConfig(StrictModel):
    """Task sources x arms x seeds, the models, the loop's limits, concurrency and where results go."""

    tasks: list[str] = Field(default_factory=lambda: [BUNDLED])  # task sources (a single string is one source)
    task_ids: list[str] | None = None  # only these instance ids
    limit: int | None = Field(default=None, ge=1)  # the first N tasks (after task_ids)
    arms: list[ArmConfig] = Field(default_factory=default_arms)
    agent: ModelConfig = Field(default_factory=lambda: ModelConfig(model=RUN_AGENT_MODEL))
    # default: the agent's own engine serves the memory model (on a CPU the fastest place: docs/method.md §4.6)
    memory: ModelConfig = Field(default_factory=lambda: ModelConfig(model=AGENT_ENGINE))
    loop: AgentConfig = Field(default_factory=AgentConfig)
    out_dir: Path | None = None  # default: runs/<timestamp>
    grade: bool = True  # run the task's grader after each episode
    validate_tasks: bool = True  # before running: every local task's base must fail and its gold patch resolve
    bash_timeout_s: float = Field(default=60.0, gt=0)  # per tool call
    seeds: list[int] = Field(default_factory=lambda: [0])  # each seed is a separate episode
    concurrency: int = Field(default=1, ge=1)  # episodes in flight (embedded servers get this many slots)
    episode_timeout_s: float | None = Field(default=None, gt=0)  # hard limit per episode -> exit "time_limit"
    order: Literal["task", "shuffle"] = "task"  # task-major, or a seeded shuffle of (task, seed) groups
    order_seed: int = 0

    @field_validator("tasks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return [BUNDLED]
        return [value] if isinstance(value, str) else value

    @field_validator("agent", mode="before")
    @classmethod
    def _run_agent_unless_named(cls, value: Any) -> Any:
        """A partial agent setting (`--threads 1`, `agent: {n_ctx: 8192}`) keeps the evaluation's agent model."""
        if isinstance(value, dict) and "model" not in value and not value.get("url"):
            return {**value, "model": RUN_AGENT_MODEL}
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"seeds must be a non-empty list of distinct integers, got {value}")
        return value

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        if not self.tasks:
            raise ValueError("tasks: at least one task source is needed")
        if not self.arms:
            raise ValueError("arms: at least one arm is needed")
        keys = [arm.key for arm in self.arms]
        if len(set(keys)) != len(keys):
            raise ValueError(f"arm labels must be unique, got {keys}; add `label:` to repeated strategies")
        shared = on_agent_engine(self.memory)
        if not (self.agent.url if shared else self.memory.url):  # the memory model runs on this CPU
            defaults = AGENT_ENGINE_DEFAULTS if shared else CPU_MEMORY_DEFAULTS
            self.arms = [with_defaults(arm, defaults) for arm in self.arms]
        self.arms = [with_defaults(arm, summary_defaults(self.memory)) for arm in self.arms]
        return self

    def needs_memory(self) -> bool:
        """Whether any arm runs a memory model (an extracted `ledger` or `recent` view needs none)."""
        return any(arm.needs_memory() for arm in self.arms)

    def thread_plan(self, need_memory: bool) -> tuple[int, int | None]:
        return thread_plan(self.agent, self.memory, need_memory)

    def resolved_out_dir(self) -> Path:
        return self.out_dir or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def load_config(path: Path | None, overrides: dict[str, Any], model: type[EvalConfig] = EvalConfig, *,
                arm_options: dict[str, Any] | None = None) -> EvalConfig:
    """YAML file (optional) + overrides (dotted keys already nested) -> a validated `EvalConfig`.

    `arm_options` (`comem run --k 4 ...` without `--arms`) set the field of that name on every arm whose strategy
    has it, over what the file or the defaults say.
    """
    config = load_yaml_config(path, overrides, model, command="comem run")
    if arm_options:
        config = config.model_copy(update={"arms": [with_options(arm, arm_options) for arm in config.arms]})
    return config
