"""The data that crosses the benchmark modules: recorded trajectories in, timings and workload shapes out.

Replay writes `StepTiming`/`MemoryTiming`/`RunTiming` rows; calibration reads them; the simulator consumes
`TrajectoryShape`s (token counts and tool times only) built from recordings or drawn from distributions.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class StepTiming(BaseModel):
    """One agent iteration, replayed or simulated. Times in seconds since the run started: the iteration runs
    from `started_s` through the memory wait, the agent call and the tool, and ends at `finished_s`."""

    arm: str
    concurrency: int
    repeat: int = 0
    agent: int
    trajectory: str
    step: int
    prompt_tokens: int
    cached_tokens: int | None = None
    completion_tokens: int
    ttft_s: float
    decode_s: float
    total_s: float  # the agent call: request sent -> last token
    tool_s: float  # replayed tool time after the call
    memory_wait_s: float = 0.0  # X_t: time blocked on the memory model before this call (exposed)
    started_s: float  # when the iteration began (before the memory wait)
    finished_s: float  # when its tool call ended
    raw_from: int = 0
    summary_id: int | None = None

    @property
    def latency_s(self) -> float:
        """T (PERFORMANCE §5.0): what the agent waits for this step, memory wait included, tool excluded."""
        return self.memory_wait_s + self.total_s

    @property
    def call_span(self) -> tuple[float, float]:
        """When the agent call ran: (request sent, last token)."""
        end = self.finished_s - self.tool_s
        return end - self.total_s, end


class MemoryTiming(BaseModel):
    """One memory-model call during a replay."""

    arm: str
    concurrency: int
    repeat: int = 0
    agent: int
    trajectory: str
    id: int
    launch_step: int
    covers: tuple[int, int]
    status: str
    input_tokens: int
    cached_tokens: int | None = None  # input tokens served from the memory engine's prefix cache
    summary_tokens: int
    launched_s: float
    finished_s: float | None
    exposed_wait_s: float


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
