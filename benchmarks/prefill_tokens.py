"""Tokens each arm's prompts send, and how many of them a prefix cache cannot serve, on recorded trajectories.

    python benchmarks/prefill_tokens.py [SOURCE] [--arms full,mask,kso,kso-calls] [--memory-view ledger]

On a CPU (and at low concurrency on a GPU) a step's latency is mostly the prefill of the prompt tokens the
engine's prefix cache does not hold. This replays recorded trajectories (a `comem run` directory, SWE-agent .traj,
R2E-Gym JSONL; default: the kept 1.5B trajectories in data/) through the real strategies, step by step, and counts
per step the prompt's tokens and its *new* tokens: those after the longest prefix it shares with the previous
step's prompt, the part a cache that holds the previous request must prefill again. Memory arms use an extracted
view (`ledger` or `recent`), so no model runs and the counts are exact for that view; a summary arm differs only
by the block's text. Tokens are estimated as bytes / 4 (docs/method.md §4.1), the same for every arm. A
benchmark, not a test: deterministic, seconds to run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

from comem.context import build_strategy, parse_arm
from comem.context.base import Clock, Pinned, estimate_tokens
from comem.core.records import Message
from comem.trajectories.sources import load_recorded

KEPT = Path(__file__).resolve().parents[1] / "data" / "trajectories" / "qwen2.5-coder-1.5b-full-32"


def rendered(messages: list[Message]) -> str:
    """A prompt as the text a chat template lays out in order (roles, contents, calls)."""
    parts = []
    for m in messages:
        calls = "".join(f"{c.name}{sorted(c.arguments.items())}" for c in m.tool_calls or [])
        parts.append(f"<{m.role}>{m.content}{calls}</{m.role}>")
    return "".join(parts)


def shared_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


async def arm_counts(spec: str, view: str, trajectories) -> list[tuple[int, int]]:
    """(prompt tokens, new tokens) for every step of every trajectory under one arm."""
    config = parse_arm(spec, {"memory_view": view})
    out = []
    for t in trajectories:
        strategy = build_strategy(config, Pinned(system=t.system, task=t.task), Clock())
        previous = ""
        for n in range(len(t.steps)):
            text = rendered((await strategy.context(t.steps[:n])).messages)
            new = text[shared_prefix(previous, text):]
            out.append((estimate_tokens(text), estimate_tokens(new)))
            previous = text
        await strategy.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", default=str(KEPT))
    parser.add_argument("--arms", default="full,mask,kso,kso-calls,kso-k2,kso-k2-calls")
    parser.add_argument("--memory-view", default="ledger", choices=["ledger", "recent"])
    args = parser.parse_args()
    trajectories = load_recorded(args.source)
    steps = sum(len(t.steps) for t in trajectories)
    print(f"{len(trajectories)} trajectories, {steps} steps, memory view {args.memory_view}\n")
    print("| arm | prompt tokens / step | new (uncached) tokens / step | total new | x full's new |")
    print("|---|---|---|---|---|")
    base = None
    for spec in args.arms.split(","):
        counts = asyncio.run(arm_counts(spec.strip(), args.memory_view, trajectories))
        total_new = sum(new for _, new in counts)
        base = base or total_new
        print(f"| {spec} | {statistics.fmean(p for p, _ in counts):,.0f} | "
              f"{statistics.fmean(new for _, new in counts):,.0f} | {total_new:,} | {total_new / base:.2f} |")


if __name__ == "__main__":
    main()
