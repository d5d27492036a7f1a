"""Peak RAM and time a step of `comem train sft` on long memory prompts, with and without gradient checkpointing.

    python benchmarks/sft_memory.py [--model smollm2-135m] [--tokens 7500] [--steps 3] [--preset cpu-lora]

Memory prompts of long histories reach ~7,500 tokens; a CPU LoRA run over them needs `max_length` 8192. This writes
rows of about `--tokens` tokens (a memory prompt made of THOUGHT / ACTION / OBSERVATION blocks and a short
summary), trains `--steps` steps of 2 rows under each setting in its own process, and prints the process's peak
resident memory (ru_maxrss) and the mean seconds a step (the trainer's own train_runtime over the steps). A
benchmark, not a test: run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from comem.train.data.records import ChatTurn, SftRecord, write_parquet

BLOCK = ("THOUGHT: The failing test points at {path}; view the function before editing it.\n"
         "ACTION: file_editor view {path} [{a}, {b}]\n"
         "OBSERVATION:\n" + "".join(f"{{a}}+{i}    total = sum(item.amount for item in items if item.qty > {i})\n"
                                    for i in range(12)))


def rows(n: int, tokens: int) -> list[SftRecord]:
    """n rows whose prompt is about `tokens` tokens (SmolLM2's tokenizer: about 2.5 characters a token here)."""
    out = []
    for r in range(n):
        body, i = [], 0
        while sum(map(len, body)) < tokens * 2.5:
            body.append(BLOCK.format(path=f"pkg/mod{r}_{i}.py", a=10 * i, b=10 * i + 12))
            i += 1
        prompt = "Summarise the agent's work so far.\n\n" + "\n".join(body)
        out.append(SftRecord(record_id=f"r{r}", task_id=f"t{r}", teacher_model="benchmark",
                             prompt=[ChatTurn(role="user", content=prompt)],
                             completion=[ChatTurn(role="assistant", content="Last steps (newest last):\n"
                                                  f"- view pkg/mod{r}_{i - 1}.py -> total = sum(...)")]))
    return out


def train(data: Path, out: Path, model: str, preset: str, steps: int, checkpointing: bool) -> dict[str, float]:
    sets = [f"max_steps={steps}", "max_length=8192", f"gradient_checkpointing={str(checkpointing).lower()}",
            "save_steps=100000"]
    cmd = [str(Path(sys.executable).with_name("comem")), "train", "sft", "--data", str(data), "--model", model,
           "--preset", preset, "--out", str(out), *(a for s in sets for a in ("--set", s))]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"training failed ({' '.join(cmd)}):\n{proc.stderr.read()[-3000:]}")
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    runtime = next((row["train_runtime"] for row in logs if "train_runtime" in row), None)
    return {"peak_rss_gib": usage.ru_maxrss / 2**20, "wall_s": wall,
            "s_per_step": runtime / steps if runtime else float("nan"),
            "loss": statistics.fmean(row["loss"] for row in logs if "loss" in row)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokens", type=int, default=7500)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--preset", default="cpu-lora")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sft.parquet"
        write_parquet(data, rows(2 * args.steps, args.tokens), SftRecord)
        print(f"{args.model}, preset {args.preset}, {args.steps} steps of 2 rows of ~{args.tokens} tokens, "
              f"max_length 8192, load {os.getloadavg()[0]:.1f}")
        for checkpointing in (False, True):
            r = train(data, Path(tmp) / f"gc-{checkpointing}", args.model, args.preset, args.steps, checkpointing)
            print(f"gradient_checkpointing={str(checkpointing).lower():5}  peak RSS {r['peak_rss_gib']:.1f} GiB  "
                  f"{r['s_per_step']:.1f} s/step  (process {r['wall_s']:.0f} s, mean loss {r['loss']:.3f})",
                  flush=True)


if __name__ == "__main__":
    main()
