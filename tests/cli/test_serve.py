"""`comem serve`'s flags reach the gateway's settings (the gateway itself is tested in tests/gateway)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from comem.cli.main import app
from comem.gateway.config import GatewayConfig


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[GatewayConfig]:
    """The gateway is not started: the settings `comem serve` would start it with land here."""
    seen: list[GatewayConfig] = []

    async def serve(settings: GatewayConfig, ready: Any) -> None:
        seen.append(settings)

    monkeypatch.setattr("comem.gateway.serve.serve", serve)
    return seen


def test_a_memory_model_with_a_lora_adapter_reaches_the_gateway(captured: list[GatewayConfig], tmp_path: Path) -> None:
    args = ["serve", "--memory-model", "smollm2-135m+lora:memory.gguf", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (captured[0].memory.model, captured[0].memory.lora, captured[0].memory.url) == \
        ("smollm2-135m", Path("memory.gguf"), None)
    bad = CliRunner().invoke(app, ["serve", "--memory-model", "http://h:9001/v1#m+lora:memory.gguf"])
    assert bad.exit_code == 2 and "embedded llama.cpp" in bad.output and len(captured) == 1


def test_a_memory_models_request_options_reach_the_gateway(captured: list[GatewayConfig], tmp_path: Path) -> None:
    args = ["serve", "--memory-model", "http://h:9001/v1#m?frequency_penalty=0.5", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (captured[0].memory.url, captured[0].memory.request_options) == ("http://h:9001/v1",
                                                                            {"frequency_penalty": 0.5})
    bad = CliRunner().invoke(app, ["serve", "--memory-model", "smollm2-135m?max_tokens=9", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "set by comem" in bad.output and "Traceback" not in bad.output


def test_a_bundled_adapter_by_name_reaches_the_gateway(captured: list[GatewayConfig], tmp_path: Path) -> None:
    from comem.llm.models import ADAPTERS

    result = CliRunner().invoke(app, ["serve", "--memory-model", "comem-memory-135m", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (captured[0].memory.model, captured[0].memory.lora) == \
        ("smollm2-135m", ADAPTERS["comem-memory-135m"].path)


def test_the_research_adapter_gets_a_note_at_start(captured: list[GatewayConfig], tmp_path: Path) -> None:
    """The gateway cannot see its clients' tasks: naming the research adapter prints what it was trained for and
    how to choose the ledger; the base alone, or an arm with no memory model, prints nothing of the kind."""
    result = CliRunner().invoke(app, ["serve", "--memory-model", "comem-memory-135m", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "trained on browsecomp tasks" in result.output and "memory_view: ledger" in result.output
    base = CliRunner().invoke(app, ["serve", "--memory-model", "smollm2-135m", "--out", str(tmp_path)])
    assert base.exit_code == 0 and "trained on" not in base.output
    config = tmp_path / "gateway.yaml"
    config.write_text("memory: {model: comem-memory-135m}\narm: {name: kso, memory_view: ledger}\n")
    ledger = CliRunner().invoke(app, ["serve", "--config", str(config), "--out", str(tmp_path)])
    assert ledger.exit_code == 0, ledger.output
    assert "trained on" not in ledger.output and captured[-1].arm.memory_view == "ledger"
