"""Does a decoding penalty stop a small memory model's run-on summaries? Lengths and repeats, setting by setting.

    python benchmarks/memory_decoding.py DATA --memory-model smollm2-135m+lora:fit80.gguf \
        [--settings plain,dry,freq,rep] [--limit 30] [--max-tokens 256]

A 135M memory model trained on ledgers often writes to its token limit, repeating lines or counting on (`- (step
1)`, `- (step 2)`, ...). llama.cpp's samplers can penalise repeats: DRY (penalises extending a sequence seen
before), the OpenAI-standard `frequency_penalty`, and llama.cpp's `repeat_penalty`. This summarises the first
`--limit` held-out records of DATA (a `comem train data grpo` directory) greedily, as `comem eval-memory` does,
once per setting, and prints per setting the median summary length, how many summaries reach the limit, and how
many repeat a line (the figures of eval-memory's summaries table). No agent runs: whether the agent acts better on
the shorter summaries is `comem eval-memory`'s question. Per-record summaries go to --out (eval-memory's
`summaries.jsonl` rows, the setting as their condition).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from comem.llm.endpoint import ModelConfig
from comem.llm.open import open_model
from comem.train.eval_memory import load_records, stats_of, summarise_record

SETTINGS: dict[str, dict[str, Any]] = {
    "plain": {},
    # llama.cpp's DRY at its documented starting values; -1 (the whole context) is refused by the server's API
    "dry": {"dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": 4096},
    "freq": {"frequency_penalty": 0.5},
    "rep": {"repeat_penalty": 1.15, "repeat_last_n": 128},
}


async def main(args: argparse.Namespace) -> None:
    records = load_records(args.data, args.limit)
    spec = ModelConfig.parse(args.memory_model, n_ctx=args.n_ctx)
    print(f"{len(records)} records, {args.memory_model}, limit {args.max_tokens} tokens")
    print("| setting | median tokens | at the limit | repeat a line |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as logs, args.out.open("w", encoding="utf-8") as out:
        for name in args.settings.split(","):
            async with open_model(spec, "memory", Path(logs), args.threads, extra_body=SETTINGS[name]) as llm:
                summaries = [await summarise_record(llm, name, record, args.max_tokens) for record in records]
            out.writelines(summary.model_dump_json() + "\n" for summary in summaries)
            stats = stats_of(name, summaries, args.max_tokens)
            print(f"| {name} | {stats.median_tokens:.0f} | {stats.at_budget} | {stats.repeating} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--memory-model", required=True)
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"of {', '.join(SETTINGS)}")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("memory_decoding.jsonl"))
    parsed = parser.parse_args()
    unknown = [name for name in parsed.settings.split(",") if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}")
    asyncio.run(main(parsed))
