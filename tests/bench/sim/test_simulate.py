"""Configuration, whole simulations, the sweep and its report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

from comem.bench.figures import episodes
from comem.bench.sim.config import apply_overrides, load_config
from comem.bench.sim.presets import DEPLOYMENTS
from comem.bench.sim.report import paper_note, table, write
from comem.bench.sim.roofline import Efficiency
from comem.bench.sim.simulate import baseline_spec, simulate, sweep, workload
from comem.core.errors import ComemError
from comem.core.metrics import EpisodeCost, ideal_speedup
from tests.bench.sim.helpers import TINY_HW, shape, tiny_config


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_every_deployment_preset_loads(name: str) -> None:
    config = load_config(name)
    assert config.deployment == name and config.agent.capacity_blocks > 0 and config.memory.capacity_blocks > 0


def test_overrides_reach_nested_fields_and_presets() -> None:
    config = load_config("glm-4.7-h200", ["agent.hardware.n_gpu=4", "agent.efficiency.bw=0.7", "memory.hardware=h100",
                                          "settings.summary_tokens=500", "workload.distribution.steps.median=60",
                                          "placement=shared"])
    assert config.agent.hardware.n_gpu == 4 and config.agent.hardware.name == "h200"
    assert config.agent.efficiency.bw == 0.7 and config.agent.efficiency.mfu == Efficiency().mfu
    assert config.memory.hardware.name == "h100" and config.memory.hardware.n_gpu == 1
    assert config.settings.summary_tokens == 500 and config.workload.distribution.steps.lo == 30
    assert config.placement == "shared"
    assert load_config("deepswe-h100", ["agent.model=qwen3-4b"]).agent.model.n_layers == 36


@pytest.mark.parametrize("pairs", [["agent.hardware.n_gpu"], ["agent.hardware.n_gpu=zero"], ["agent.nope=1"],
                                   ["agent.model=gpt-5"], ["arms=3"], ["agent.hardware.n_gpu=1"]])
def test_bad_overrides_name_the_fix(pairs: list[str]) -> None:
    with pytest.raises(ComemError) as err:
        config = load_config("glm-4.7-h200", pairs)
        _ = config.agent.capacity_tokens  # GLM-4.7 on one GPU does not fit
    assert err.value.fix


def test_unknown_deployment() -> None:
    with pytest.raises(ComemError, match="deployment"):
        load_config("gpt-5-b200")


def test_apply_overrides_parses_json_values() -> None:
    tree = apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]", "a.d=true", "e=text", "a.b=2.5"])
    assert tree == {"a": {"b": 2.5, "c": [1, 2], "d": True}, "e": "text"}


def test_calibration_file_sets_engine_efficiencies(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"efficiency": {"bw": 0.2, "kv_bw": 0.3, "mfu": 0.1, "attn": 0.1, "t_fixed_s": 0.01,
                                               "t_request_s": 0.02}, "engines": ["agent"]}))
    config = load_config("cpu-smollm2", calibration=path)
    assert config.agent.efficiency.bw == 0.2 and config.memory.efficiency.bw != 0.2
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ComemError):
        load_config("cpu-smollm2", calibration=tmp_path / "bad.json")


def test_bounded_arms_beat_full_context_under_kv_pressure() -> None:
    shapes = [shape(f"t{i}", 100, [(20, 80, 0.2)] * 10) for i in range(6)]
    config = tiny_config(["full", "kso-k2", "mask"], agent={"kv_tokens": 2500, "max_num_batched_tokens": 256,
                                                            "max_num_seqs": 16},
                         baseline_hardware="agent-only")  # the mechanism, with the memory model on its own devices
    result = simulate(config, shapes)
    runs = {r.arm: r for r in result.measured}
    assert runs["full"].agent_stats.preemptions > runs["kso-k2"].agent_stats.preemptions
    summaries = {s.arm: s for s in result.summaries()}
    assert summaries["kso-k2"].s_e2e > 1.0
    assert summaries["kso-k2"].prompt_mean_tokens < summaries["full"].prompt_mean_tokens
    assert summaries["full"].cache_reuse is not None


def test_on_equal_hardware_the_baseline_gets_the_memory_models_devices() -> None:
    shapes = [shape(f"t{i}", 100, [(20, 80, 0.2)] * 10) for i in range(6)]
    agent = {"kv_tokens": 2500, "max_num_batched_tokens": 256, "max_num_seqs": 16}
    equal = tiny_config(["full", "kso-k2"], agent=agent)
    pooled = baseline_spec(equal, equal.agent, equal.memory)
    assert pooled.hardware.n_gpu == equal.agent.hardware.n_gpu + equal.memory.hardware.n_gpu
    assert pooled.kv_tokens == 2500 * pooled.hardware.n_gpu // equal.agent.hardware.n_gpu
    speedup = {}
    for hardware in ("equal", "agent-only"):
        result = simulate(equal.model_copy(update={"baseline_hardware": hardware}), shapes)
        speedup[hardware] = {s.arm: s for s in result.summaries()}["kso-k2"].s_e2e
    assert speedup["equal"] < speedup["agent-only"]  # extra devices for the memory model flatter it
    assert baseline_spec(equal.model_copy(update={"placement": "shared"}), equal.agent, equal.memory) == equal.agent


def test_s_star_comes_from_a_run_with_instant_memory() -> None:
    shapes = [shape(f"t{i}", 100, [(20, 80, 0.2)] * 10) for i in range(6)]
    result = simulate(tiny_config(["full", "kso-k2"]), shapes)
    assert [(r.arm, r.instant_memory) for r in result.runs] == [("full", False), ("kso-k2", False), ("kso-k2", True)]
    instant = result.runs[2]
    assert instant.memory_stats.iterations == 0  # the memory engine never ran
    assert all(s.memory_wait_s == 0 for s in instant.steps)
    assert {m.status for m in instant.memory} <= {"ok", "superseded"}
    kso = {f.arm: f for f in result.summaries()}["kso-k2"]
    costs = [EpisodeCost.of(v) for v in episodes(instant.steps).values()]
    base = [EpisodeCost.of(v) for v in episodes(result.runs[0].steps).values()]
    assert kso.s_star == pytest.approx(ideal_speedup(base, costs))
    assert [s.arm for s in result.steps].count("kso-k2") == len(result.runs[1].steps)  # measured rows only


def test_equal_hardware_needs_one_device_type() -> None:
    config = tiny_config(["full"], memory={"hardware": TINY_HW.model_copy(update={"name": "other", "hbm_bw": 2e12})})
    with pytest.raises(ComemError, match="different devices"):
        baseline_spec(config, config.agent, config.memory)
    assert baseline_spec(config.model_copy(update={"baseline_hardware": "agent-only"}), config.agent,
                         config.memory) == config.agent


def test_workload_reuses_replayed_shapes_round_robin(tmp_path: Path) -> None:
    rows = simulate(tiny_config(["full"]), [shape("a", 30, [(4, 5, 0.0)] * 3), shape("b", 20, [(4, 5, 0.0)] * 2)]).steps
    (tmp_path / "steps.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows))
    config = tiny_config(["full"], workload={"replay": tmp_path / "steps.jsonl"})
    assert [s.name for s in workload(config, 5)] == ["a", "b", "a", "b", "a"]


def test_sweep_and_report(tmp_path: Path) -> None:
    config = tiny_config(["full", "kso"], agent={"kv_tokens": 3000},
                         workload={"distribution": {"steps": {"median": 4, "lo": 2, "hi": 6},
                                                    "head_tokens": {"median": 100, "lo": 50, "hi": 200},
                                                    "observation_tokens": {"median": 50, "lo": 10, "hi": 100},
                                                    "output_tokens": {"median": 20, "lo": 5, "hi": 40},
                                                    "tool_s": {"median": 0.5, "lo": 0.1, "hi": 1.0}}})
    result = sweep(config, [1, 2, 32], [False, True])
    flat = write(result, config, tmp_path)
    assert len(flat) == 2 * 3 * 2
    with (tmp_path / "summary.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 12
    assert json.loads((tmp_path / "summary.json").read_text())["paper"]["glm_batch"]["256"] == 2.52
    assert (tmp_path / "steps-offload-on.jsonl").read_text().count("\n") == len(result.steps) // 2
    assert table(flat, "t").row_count == 3
    assert all(r["paper"] == "" for r in flat)  # the paper's batch figures are GLM-4.7's, not this model's
    assert paper_note(64, "glm-4.7") == "1.05x (GLM-4.7), peak/step 4.95x"
    assert paper_note(32, "glm-4.7") == "0.86x (GLM-4.7)" and paper_note(32, "deepswe-32b") == ""
