"""Engine invariants: KV never over capacity, tokens conserved, every request done, preemption under load."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.extras import reason

pytest.importorskip("simpy", reason=reason("simpy"))

import simpy

from comem.bench.sim.agents import Arm
from comem.bench.sim.engine import Engine, Request
from comem.bench.sim.simulate import baseline_spec, run_arm
from comem.core.errors import ComemError
from tests.bench.sim.helpers import analytic_full_steps, shape, tiny_config, tiny_spec

TRAJ = shape("t", 50, [(20, 30, 0.5), (7, 0, 0.0), (33, 90, 1.0), (1, 12, 0.2), (15, 64, 0.0)])


@pytest.mark.parametrize("spec_update", [
    {}, {"block_size": 1}, {"block_size": 16, "max_num_batched_tokens": 16},
    {"efficiency": {"t_request_s": 0.05, "t_fixed_s": 0.0, "bw": 0.7, "kv_bw": 0.7, "mfu": 0.9, "attn": 0.9}},
])
def test_single_agent_equals_the_analytic_sum(spec_update: dict) -> None:
    config = tiny_config(["full"], agent=spec_update)
    run = run_arm(config, Arm.parse("full", 2), [TRAJ])
    expected = analytic_full_steps(TRAJ, baseline_spec(config, config.agent, config.memory))  # the spec that ran
    got = [x for s in run.steps for x in (s.agent_ttft_s, s.decode_s)]
    assert got == pytest.approx([x for pair in expected for x in pair], rel=1e-9, abs=1e-12)
    wall = sum(t + d for t, d in expected) + sum(s.tool_s for s in TRAJ.steps)
    assert run.wall_s == pytest.approx(wall, rel=1e-9)
    assert run.agent_stats.preemptions == 0


def test_prefix_reuse_is_reported_per_step() -> None:
    run = run_arm(tiny_config(["full"]), Arm.parse("full", 2), [TRAJ])
    assert run.steps[0].cached_tokens == 0
    assert run.steps[1].cached_tokens == (50 + 20 - 1) // 4 * 4
    nocache = run_arm(tiny_config(["full-nocache"]), Arm.parse("full-nocache", 2), [TRAJ])
    assert all(s.cached_tokens == 0 for s in nocache.steps)
    assert nocache.agent_stats.prefill_tokens == sum(s.prompt_tokens for s in nocache.steps)
    assert nocache.wall_s > run.wall_s


def _conservation(engine: Engine, outputs: int) -> None:
    st_ = engine.stats
    assert st_.decode_tokens + st_.prefill_completions == outputs
    lost = st_.prefix_query_tokens - st_.prefix_hit_tokens - st_.prefill_tokens
    assert lost >= 0 and (lost == 0 or st_.preemptions > 0)
    assert engine.cache.held_total == 0 and engine.cache.private == 0
    assert st_.peak_used_blocks <= engine.cache.capacity


steps_st = st.lists(st.tuples(st.integers(1, 30), st.integers(0, 40), st.sampled_from([0.0, 0.1, 1.0])),
                    min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trajs=st.lists(st.tuples(st.integers(2, 60), steps_st), min_size=1, max_size=5),
    arm=st.sampled_from(["full", "full-nocache", "mask", "sync-k1", "sync-k2", "kso-k1", "kso-k2", "kso-k3"]),
    block=st.sampled_from([1, 2, 4, 16]), budget=st.sampled_from([16, 32, 256]), seqs=st.sampled_from([1, 2, 8]),
    room=st.floats(1.0, 3.0), shared=st.booleans(), offload=st.booleans(), delay=st.sampled_from([0.0, 0.01]),
    contention=st.sampled_from([1.0, 1.7]),
)
def test_random_workloads_keep_the_invariants(trajs, arm, block, budget, seqs, room, shared, offload, delay,
                                              contention) -> None:
    shapes = [shape(f"t{i}", head, steps) for i, (head, steps) in enumerate(trajs)]
    biggest = max(t.head_tokens + sum(s.output_tokens + s.observation_tokens + 2 for s in t.steps) for t in shapes)
    kv = int((biggest + 64) * room) + 2 * block
    eff = {"efficiency": {"t_request_s": delay, "t_fixed_s": 1e-3}}
    spec = {"block_size": block, "max_num_batched_tokens": budget, "max_num_seqs": seqs, "kv_tokens": kv, **eff}
    config = tiny_config([arm], agent=spec, memory=spec, placement="shared" if shared else "separate",
                         offload=offload, offload_gib=kv * 512 * 0.5 / 2**30, contention=contention)
    engines: dict[int, Engine] = {}

    def hook(engine: Engine) -> None:  # config.check recounts the cache after every iteration too
        engines[id(engine)] = engine
        assert engine.cache.used <= engine.cache.capacity

    run = run_arm(config, Arm.parse(arm, 2), shapes, hook=hook)
    assert [len([s for s in run.steps if s.trajectory == t.name]) for t in shapes] == [len(t.steps) for t in shapes]
    for s in run.steps:
        assert s.agent_total_s == pytest.approx(s.agent_ttft_s + s.decode_s) and s.agent_ttft_s > 0 and s.decode_s >= 0
        assert 0 <= (s.cached_tokens or 0) < s.prompt_tokens
    if not shared and engines:
        agent_engine = next(e for e in engines.values() if e.name == "agent")
        _conservation(agent_engine, sum(s.completion_tokens for s in run.steps))


def test_preemptions_grow_with_load() -> None:
    traj = shape("t", 200, [(40, 150, 0.5)] * 6)
    counts = []
    for n in (1, 2, 4, 8):
        config = tiny_config(["full"], agent={"kv_tokens": 2400, "max_num_batched_tokens": 256, "max_num_seqs": 16})
        counts.append(run_arm(config, Arm.parse("full", 2), [traj] * n).agent_stats.preemptions)
    assert counts[0] == 0 and counts[-1] > 0
    assert counts == sorted(counts)


def _engine(env: simpy.Environment, **update) -> Engine:
    return Engine(env, tiny_spec(**update), check=True)


def test_an_arrival_interrupts_a_decode_run() -> None:
    env = simpy.Environment()
    engine = _engine(env)
    long = Request(segments=[("a", 10)], output_tokens=2000, output_key="oa")
    late = Request(segments=[("b", 10)], output_tokens=2, output_key="ob")
    engine.submit(long)
    arrival = 0.5
    env.process((lambda: (yield env.timeout(arrival)) or engine.submit(late))())
    env.run()
    step = engine.rf.iteration(2, 2 * 2000)  # an upper bound on one iteration here
    assert late.first_token_s is not None and late.first_token_s - arrival < 3 * step
    assert long.finished_s is not None and long.finished_s > late.finished_s


def test_cpu_tier_turns_a_recompute_into_a_copy() -> None:
    def third_ttft(offload: float) -> tuple[float, int, int]:
        env = simpy.Environment()
        engine = _engine(env, kv_tokens=256, block_size=4, cpu_offload_gib=offload)
        reqs = [Request(segments=[(key, 200)], output_tokens=4, output_key=f"o{i}")
                for i, key in enumerate(["a", "b", "a"])]

        def client():
            for r in reqs:
                yield engine.submit(r)

        env.process(client())
        env.run()
        last = reqs[-1]
        return last.first_token_s - last.submitted_s, last.cached_tokens, engine.stats.reload_tokens

    cold, cached_cold, _ = third_ttft(0.0)
    warm, cached_warm, reloaded = third_ttft(1.0)
    assert 0 < cached_cold < 196  # b evicted a's tail; its head is still on the GPU
    assert cached_warm == 196 and reloaded == 196 - cached_cold  # the tail comes back from the CPU tier
    assert warm < cold


def test_abort_returns_the_blocks() -> None:
    env = simpy.Environment()
    engine = _engine(env)
    victim = Request(segments=[("a", 40)], output_tokens=500, output_key="oa")
    other = Request(segments=[("b", 40)], output_tokens=50, output_key="ob")
    engine.submit(victim)
    engine.submit(other)

    def stop():
        yield env.timeout(0.05)
        engine.abort(victim)

    env.process(stop())
    env.run(until=30)
    assert victim.finished_s is None and other.finished_s is not None
    assert engine.cache.held_total == 0 and engine.cache.private == 0 and not engine.running


def test_a_request_larger_than_the_cache_is_refused() -> None:
    env = simpy.Environment()
    engine = _engine(env, kv_tokens=64)
    with pytest.raises(ComemError) as err:
        engine.submit(Request(segments=[("a", 60)], output_tokens=10, output_key="o"))
    assert "kv_tokens" in err.value.fix


def test_colocated_engines_slow_each_other_down() -> None:
    def finish_times(contention: float, both: bool) -> float:
        env = simpy.Environment()
        a, b = _engine(env), Engine(env, tiny_spec(), "memory")
        if contention > 1:
            a.colocate(b, contention)
        first = Request(segments=[("a", 300)], output_tokens=400, output_key="oa")
        a.submit(first)
        if both:
            b.submit(Request(segments=[("b", 300)], output_tokens=400, output_key="ob"))
        env.run()
        return first.finished_s

    alone = finish_times(1.0, both=False)
    assert finish_times(1.0, both=True) == pytest.approx(alone)  # separate devices: independent
    assert finish_times(2.0, both=False) == pytest.approx(alone)  # peer idle: full speed
    assert finish_times(2.0, both=True) == pytest.approx(2 * alone, rel=0.01)  # both busy throughout


def test_a_reload_holds_its_blocks_from_admission_and_computes_after_the_copy() -> None:
    """As vLLM's scheduler does for KV loaded from the CPU tier: the blocks of the whole reloaded prefix are
    allocated when the request is admitted, and its prefill starts only once the copy is done."""
    env = simpy.Environment()
    engine = _engine(env, kv_tokens=256, block_size=4, cpu_offload_gib=1.0)
    seen: list[tuple[float, int, float]] = []
    reqs = [Request(segments=[(key, 200)], output_tokens=4, output_key=f"o{i}") for i, key in enumerate("aba")]

    def hook(e: Engine) -> None:
        last = reqs[-1]
        if last.slot is not None:
            seen.append((e.env.now, e.cache.held_total + e.cache.private, last.ready_at))

    engine.on_iteration = hook

    def client():
        for r in reqs:
            yield engine.submit(r)

    env.process(client())
    env.run()
    last = reqs[-1]
    assert last.reloaded_tokens > 0
    copy_done = last.submitted_s + engine.rf.reload_s(last.reloaded_tokens)
    assert last.first_token_s >= copy_done
    assert seen and seen[0][1] >= last.cached_tokens // 4  # every reused block held at the first iteration


def test_a_request_still_loading_is_preempted_last() -> None:
    """Preemption takes the most recently admitted running request, passing over those still copying from the CPU
    tier (vLLM keeps them out of the running queue); only when every one is loading does it take the last."""
    env = simpy.Environment()
    engine = _engine(env)
    older, loading = (Request(segments=[(k, 8)], output_tokens=2, output_key=k) for k in "ab")
    loading.ready_at = 1.0
    engine.running = [older, loading]
    assert engine._victim() is older
    older.ready_at = 2.0
    assert engine._victim() is loading


def test_the_default_offload_tier_is_not_smaller_than_the_gpu_kv() -> None:
    """By default each engine's CPU tier is the paper's 500 GiB, or its own GPU KV size where that is larger."""
    from comem.bench.sim.config import load_config
    from comem.bench.sim.simulate import PAPER_OFFLOAD_GIB, with_offload

    config = load_config("glm-4.7-h200", ["offload=true"])
    for spec in (config.agent, baseline_spec(config, config.agent, config.memory), config.memory):
        gpu_gib = spec.capacity_tokens * spec.model.kv_bytes_per_token / 2**30
        tier = with_offload(config, spec).cpu_offload_gib
        assert tier >= gpu_gib and tier >= PAPER_OFFLOAD_GIB
    assert with_offload(config.model_copy(update={"offload_gib": 250.0}), config.agent).cpu_offload_gib == 250.0
    assert with_offload(config.model_copy(update={"offload": False}), config.agent).cpu_offload_gib == 0.0


def test_kv_cache_dtype_fp8_doubles_the_tokens_that_fit() -> None:
    from comem.bench.sim.config import load_config

    bf16, fp8 = (load_config("glm-4.7-h200", [f"agent.kv_cache_dtype={d}"]).agent for d in ("bf16", "fp8"))
    assert fp8.model.bytes_per_kv == 1.0 and bf16.model.bytes_per_kv == 2.0
    assert fp8.capacity_tokens == pytest.approx(2 * bf16.capacity_tokens, abs=2)
    assert Engine(simpy.Environment(), fp8).rf.f_att > Engine(simpy.Environment(), bf16).rf.f_att  # FP8 attention
