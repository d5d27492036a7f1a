"""How fast the serving simulator runs: 256 agents x 60 steps per arm (goal: under 60 s on 2 cores).

    python benchmarks/sim_speed.py [--agents 256] [--steps 60] [--deployment glm-4.7-h200] [--arms full,kso]

Every trajectory runs all its steps (max_model_len is raised so none is cut). Prints the wall time of each arm's
simulation with what it simulated (steps, engine iterations, preemptions, simulated time). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import time

from comem.bench.sim.agents import Arm
from comem.bench.sim.config import load_config
from comem.bench.sim.simulate import run_arm, workload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--deployment", default="glm-4.7-h200")
    ap.add_argument("--arms", default="full,kso")
    ap.add_argument("--offload", action="store_true")
    args = ap.parse_args()
    arms = [a for a in args.arms.split(",") if a]
    config = load_config(args.deployment, [
        f"workload.distribution.steps.median={args.steps}", "workload.distribution.steps.sigma=0",
        "max_model_len=1000000", f"arms={json.dumps(arms)}", f"offload={json.dumps(args.offload)}",
    ])
    shapes = workload(config, args.agents)
    print(f"{args.deployment}: {args.agents} agents x {args.steps} steps, offload={'on' if args.offload else 'off'}")
    for name in arms:
        arm = Arm.parse(name, config.k)
        t0 = time.perf_counter()
        run = run_arm(config, arm, shapes)
        wall = time.perf_counter() - t0
        st = run.agent_stats
        mem = run.memory_stats
        print(f"  {arm.name:<12} {wall:6.1f} s wall  ({len(run.steps)} agent steps, {st.iterations} engine iterations, "
              f"{st.preemptions} preemptions, {len(run.memory)} memory calls"
              + (f" / {mem.iterations} memory-engine iterations" if mem else "")
              + f", {run.wall_s / 3600:.2f} h simulated)")


if __name__ == "__main__":
    main()
