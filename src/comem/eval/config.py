"""Run configuration: which tasks, which arms (context strategies), which models. YAML or CLI.

A YAML file holds the same fields as this model, e.g.

    tasks: null            # the bundled suite; or a task directory / SWE-bench-style JSONL
    arms:
      - {name: full}
      - {name: kso, k: 2}
      - {name: kso, k: 4, label: kso-k4, late_policy: stale, max_wait_s: 5}
    agent: {model: qwen2.5-coder-0.5b, threads: 2}
    memory: {model: qwen2.5-coder-0.5b, threads: 2}
    loop: {max_steps: 20}
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from comem.agent.loop import AgentConfig
from comem.context import lookup
from comem.context.memory import MemoryStrategy
from comem.core.config import deep_merge, first_error
from comem.core.errors import ComemError
from comem.llm.endpoint import ModelConfig, thread_plan


class ArmConfig(BaseModel):
    """One arm: a strategy name, its options, and a label for tables and directories."""

    name: str
    label: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_options(cls, data: Any) -> Any:
        """Accept flat YAML ({name: kso, k: 4}) as well as {name, options: {...}}."""
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, dict):
            extra = {k: v for k, v in data.items() if k not in ("name", "label", "options")}
            return {"name": data.get("name"), "label": data.get("label"),
                    "options": {**data.get("options", {}), **extra}}
        return data

    @property
    def key(self) -> str:
        return self.label or self.name

    def strategy_config(self) -> BaseModel:
        _, config_cls = lookup(self.name)
        try:
            return config_cls(name=self.name, **self.options)
        except ValidationError as exc:
            raise ComemError(f"Bad options for arm {self.key!r}: {first_error(exc)}.",
                             fix=f"check the {self.name} options in your config or flags.") from exc

    def needs_memory(self) -> bool:
        return issubclass(lookup(self.name)[0], MemoryStrategy)


class RunConfig(BaseModel):
    tasks: str | None = None  # None: the bundled suite
    task_ids: list[str] | None = None
    limit: int | None = None  # first N tasks
    # Sized for a 2-core CPU, where the memory model gets one core: a 0.5B model writes ~128 tokens in about
    # the time the agent takes for 4 steps. On GPUs the paper's k = 2..4 with longer summaries is the start.
    arms: list[ArmConfig] = Field(default_factory=lambda: [
        ArmConfig(name="full"), ArmConfig(name="kso", options={"k": 4, "memory_max_tokens": 128})])
    agent: ModelConfig = Field(default_factory=ModelConfig)
    memory: ModelConfig = Field(default_factory=ModelConfig)
    loop: AgentConfig = Field(default_factory=lambda: AgentConfig(max_steps=20))
    out_dir: Path | None = None  # default: runs/<timestamp>
    grade: bool = True
    bash_timeout_s: float = 60.0

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        keys = [arm.key for arm in self.arms]
        if len(set(keys)) != len(keys):
            raise ValueError(f"arm labels must be unique, got {keys}; add `label:` to repeated strategies")
        if not self.arms:
            raise ValueError("at least one arm is needed")
        return self

    def thread_plan(self, need_memory: bool) -> tuple[int, int]:
        return thread_plan(self.agent, self.memory, need_memory)

    def resolved_out_dir(self) -> Path:
        return self.out_dir or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


C = TypeVar("C", bound=RunConfig)




def load_config(path: Path | None, overrides: dict[str, Any], model: type[C] = RunConfig) -> C:
    """YAML file (optional) + CLI overrides (dotted keys already nested) -> a validated `model` (RunConfig or a
    subclass such as comem.eval's EvalConfig)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ComemError(f"Cannot read config {path}: {exc}.", fix="pass a readable YAML file.") from exc
        if not isinstance(data, dict):
            raise ComemError(f"Config {path} is not a mapping.", fix="write `key: value` pairs at the top level.")
    merged = deep_merge(data, overrides)
    try:
        config = model.model_validate(merged)
    except ValidationError as exc:
        raise ComemError(f"Invalid run configuration: {first_error(exc)}.",
                         fix="see `comem run --help` and the example in the README.") from exc
    for arm in config.arms:
        arm.strategy_config()  # unknown names and bad options fail now, before any model starts
    return config




