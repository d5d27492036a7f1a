"""The gateway's typed configuration (`comem serve --config gateway.yaml`; flags override it).

Every key is checked at every level, like `comem run`'s: a misspelt one is an error naming the nearest key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from comem.context.arms import ArmConfig, with_defaults
from comem.context.kso import KsoConfig
from comem.core.config import StrictModel, is_loopback
from comem.llm.endpoint import AGENT_ENGINE, ModelConfig, on_agent_engine, summary_defaults


class UpstreamConfig(StrictModel):
    """Where requests go. No URL: the embedded llama.cpp agent model serves them (offline out of the box)."""

    url: str | None = None  # an OpenAI/Anthropic-compatible base URL ending in /v1 (vLLM, SGLang, llama.cpp, hosted)
    api_key: SecretStr | None = Field(default=None, exclude=True)  # sent upstream; never logged or written out
    model: ModelConfig = Field(default_factory=ModelConfig)  # the embedded agent model when `url` is not set
    # `same`: each request goes to the upstream in its own protocol; `openai` / `anthropic`: the upstream serves only
    # that one, and requests of the other are translated (responses and streams back)
    protocol: Literal["same", "openai", "anthropic"] = "same"
    timeout_s: float = Field(default=600.0, gt=0)


class SessionLimits(StrictModel):
    """Sessions kept in memory at once, and how long an idle one lives (its state stays on disk until then)."""

    max_sessions: int = Field(default=256, ge=1)
    idle_s: float = Field(default=3600.0, gt=0)


def default_arm() -> KsoConfig:
    """`deadline`: a summary gets k agent steps before a request waits for it (the gateway's staleness contract)."""
    return KsoConfig(late_policy="deadline")


class GatewayConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8300, ge=0, le=65535)
    api_key: SecretStr | None = Field(default=None, exclude=True)  # clients must send it (required off loopback)
    upstream: UpstreamConfig = Field(default_factory=UpstreamConfig)
    memory: ModelConfig = Field(default_factory=ModelConfig)  # embedded by default, or any URL
    arm: ArmConfig = Field(default_factory=default_arm)  # the strategy and its settings, as in `comem run`
    min_tokens: int = Field(default=4000, ge=0)  # below this (estimated) size a request passes through untouched
    memory_concurrency: int = Field(default=1, ge=1)  # memory calls in flight across all sessions
    memory_queue: int = Field(default=64, ge=0)  # memory calls waiting beyond those; more are failed and counted
    max_body_bytes: int = Field(default=32 << 20, ge=1024)
    sessions: SessionLimits = Field(default_factory=SessionLimits)
    out: Path = Path("runs/gateway")  # session records (the `comem run` layout) and the session state

    @field_validator("arm", mode="after")
    @classmethod
    def _memory_arm(cls, arm: ArmConfig) -> ArmConfig:
        if arm.name != "kso":
            raise ValueError(f"the gateway runs the kso strategy (got {arm.name!r}): use an arm like kso-k4-deadline")
        return arm

    @model_validator(mode="after")
    def _memory_model_defaults(self) -> GatewayConfig:
        """A bundled adapter's summary budget, unless the arm sets one."""
        self.arm = with_defaults(self.arm, summary_defaults(self.memory))
        return self

    @model_validator(mode="after")
    def _agent_engine_is_embedded(self) -> GatewayConfig:
        if on_agent_engine(self.memory) and self.upstream.url is not None:
            raise ValueError(f"memory model `{AGENT_ENGINE}` shares the embedded agent's engine, and the upstream is "
                             f"{self.upstream.url}: give the memory model's URL (it may be the upstream's) and name")
        return self

    @model_validator(mode="after")
    def _key_off_loopback(self) -> GatewayConfig:
        if not is_loopback(self.host) and self.api_key is None:
            raise ValueError(f"binding {self.host} (not loopback) needs an api_key that clients must send")
        return self

