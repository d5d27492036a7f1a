"""GPU-scale serving simulator (`comem bench simulate`) and its calibration (`comem bench calibrate`).

N closed-loop agents and the memory model on vLLM-like engines, as a SimPy discrete-event simulation:

- `roofline`: iteration time of an engine step (docs/simulator.md) and KV capacity.
- `presets`: the paper's models, H100/H200/CPU devices, and deployments (docs/simulator.md §5).
- `kvcache`: block prefix cache with LRU eviction and a CPU tier, over a trie of prompt segments.
- `engine`: continuous batching, chunked prefill, preemption by recompute (a SimPy process per engine).
- `workload`: trajectory shapes from replays, recordings or distributions.
- `agents`: one process per agent, prompts built per arm on the real strategies' schedules.
- `config` / `simulate`: a run's settings (`--set key=value`), one arm, all arms, the concurrency sweep.
- figures (S_step, S_e2e, S*, eta, exposed memory time) come from `comem.bench.figures` over the `StepRow`s, with
  every definition in `comem.core.metrics`.
- `report`: the sweep beside the paper's figures, CSV/JSON.
- `calibrate`: efficiency factors fitted to replay measurements; simulator-vs-replay validation.
- `commands`: the two CLI commands as plain functions.
"""
