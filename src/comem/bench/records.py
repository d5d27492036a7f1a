"""The data that crosses the benchmark modules: recorded trajectories in, timings and workload shapes out.

Replay and the simulator write `StepRow`/`MemoryRow`/`RunTiming` rows; calibration reads them; the simulator
consumes `TrajectoryShape`s (token counts and tool times only) built from recordings or drawn from distributions.
A row's cost fields are `comem.core.records.StepTiming`/`MemoryTiming`, the ones a trajectory records; a row adds
only where it ran. Figures from rows: `comem.bench.figures`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from comem.core.records import MemoryTiming, StepTiming

LEGACY_STEP_FIELDS = {"ttft_s": "agent_ttft_s", "total_s": "agent_total_s"}  # rows written before StepTiming


class RunCoordinates(BaseModel):
    """Where a row ran: which arm, at how many concurrent agents, in which repeat, by which agent, on which
    trajectory. (repeat, agent, trajectory) names an episode within one arm at one concurrency."""

    arm: str
    concurrency: int
    repeat: int = 0
    agent: int
    trajectory: str

    @property
    def episode(self) -> tuple[int, int, str]:
        return self.repeat, self.agent, self.trajectory


class StepRow(StepTiming, RunCoordinates):
    """One agent iteration, replayed or simulated; times in seconds since the run started."""

    step: int  # the step's index in its trajectory
    agent_threads: int | None = None  # CPU threads of the embedded agent server that ran it; None: a URL or unknown

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        """Rows written before the timing record was shared named the agent call `ttft_s`/`total_s` and stored
        `decode_s` (now derived); read them as they are."""
        if isinstance(data, dict) and any(old in data for old in LEGACY_STEP_FIELDS):
            data = {LEGACY_STEP_FIELDS.get(k, k): v for k, v in data.items() if k != "decode_s"}
        return data


class MemoryRow(MemoryTiming, RunCoordinates):
    """One memory-model call during a replay or a simulation."""


class RunTiming(BaseModel):
    """One arm at one concurrency: N agents in closed loop until each finished its trajectory."""

    arm: str
    concurrency: int
    repeat: int = 0
    wall_s: float
    steps: int
    trajectory_wall_s: float  # sum over agents of (last finish - first start)
    prompt_tokens: int
    cached_tokens: int | None
    engine_cache_hit_rate: float | None = None  # from the engine's own counters (vLLM /metrics), if any
    cache_reset: bool = False  # whether the engine's prefix cache was cleared before this run
    agent_threads: int | None = None  # CPU threads of the embedded servers it ran on; None: a URL or unknown
    memory_threads: int | None = None  # None also when the arm ran no memory server


class StepShape(BaseModel):
    """What a step adds to the history, in tokens, and how long its tool ran."""

    output_tokens: int = Field(ge=1)  # the agent's reply (thought + action)
    observation_tokens: int = Field(ge=0)  # the tool output as it enters the prompt, incl. chat template
    tool_s: float = Field(default=0.0, ge=0.0)


class TrajectoryShape(BaseModel):
    """A trajectory reduced to what serving cost depends on: the simulator's workload unit."""

    name: str
    head_tokens: int = Field(ge=1)  # system prompt + task, the prompt at step 0
    steps: list[StepShape]
