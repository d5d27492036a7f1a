"""Per-step latency breakdown of a `comem run` directory: `python benchmarks/step_breakdown.py RUN_DIR`.

Median agent call (memory wait excluded), split at the first step after a summary install (the prompt head
changed, so the prefix cache misses), the prefix-cache hit share, and memory latency hidden versus exposed.
"""

from __future__ import annotations

import statistics as st
import sys
from pathlib import Path

from comem.core.jsonlog import read_records
from comem.core.records import MemoryRecord, Step


def breakdown(arm_dir: Path) -> str:
    steady, fresh, cached, memory = [], [], [], []
    for path in sorted((arm_dir / "trajectories").glob("*.jsonl")):
        previous = None
        for r in read_records(path):
            if isinstance(r, Step):
                installed = r.summary_id is not None and r.summary_id != previous
                (fresh if installed else steady).append(r.agent_total_s)
                previous = r.summary_id
                if r.prompt_tokens:
                    cached.append((r.cached_tokens or 0) / r.prompt_tokens)
            elif isinstance(r, MemoryRecord) and r.status == "ok":
                memory.append(r)
    out = f"{arm_dir.name}: steps={len(steady) + len(fresh)} agent call median steady={st.median(steady):.2f}s"
    if fresh:
        out += f" just-after-install median={st.median(fresh):.2f}s (n={len(fresh)})"
    out += f" prefix-cache hit mean={st.fmean(cached):.0%}"
    if memory:
        latency = sum(m.latency_s for m in memory)
        out += (f"\n  memory updates={len(memory)} latency median={st.median(m.latency_s for m in memory):.1f}s"
                f" exposed median={st.median(m.exposed_wait_s for m in memory):.1f}s"
                f" hidden share={sum(m.hidden_s for m in memory) / latency:.0%}"
                f" input tok median={st.median(m.input_tokens for m in memory)}"
                f" out tok median={st.median(m.summary_tokens for m in memory)}")
    return out


if __name__ == "__main__":
    run_dir = Path(sys.argv[1])
    for arm in sorted(p for p in run_dir.iterdir() if (p / "trajectories").is_dir()):
        print(breakdown(arm))
