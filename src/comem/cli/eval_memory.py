"""`comem eval-memory`: score memory models by the agent's action consistency on held-out records."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from comem.cli.common import console, resumable
from comem.core.config import default_of, first_error
from comem.core.errors import ComemError
from comem.llm.endpoint import ModelConfig
from comem.train.eval_memory import EvalSettings, eval_memory, parse_memory_model, saved_limit
from comem.train.eval_report import rich_paired_tables, rich_summary_table, to_table


def eval_memory_command(
    data: Annotated[Path, typer.Argument(help="Held-out GRPO records: eval.parquet, or the directory "
                                         "`comem train data grpo` wrote.")],
    memory_model: Annotated[list[str] | None, typer.Option(help="A memory model to evaluate, [LABEL=]SPEC: a bundled "
                                                           "name or GGUF path (BASE+lora:FILE.gguf adds a LoRA "
                                                           "adapter), hf:DIR, or a URL (served name after #); engine "
                                                           "options after ? (?frequency_penalty=0.5). "
                                                           "Repeatable.")] = None,
    agent_model: Annotated[str, typer.Option(help="Bundled name or GGUF path (embedded), or the served name with "
                                             "--agent-url.")] = default_of(ModelConfig, "model"),
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the agent.",
                                                  envvar="COMEM_AGENT_URL")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the URLs (default $OPENAI_API_KEY).")] = None,
    baselines: Annotated[str, typer.Option(help="Comma-separated baselines: none, truncate, ledger, recent, mask, "
                                                "full.")]
    = ",".join(default_of(EvalSettings, "baselines")),
    with_ledger: Annotated[bool, typer.Option(help="Also score each memory model's summary followed by the "
                                              "ledger (LABEL+ledger).")] = default_of(EvalSettings, "with_ledger"),
    ledger_tokens: Annotated[int, typer.Option(help="The ledger's token budget (ledger, LABEL+ledger).")]
    = default_of(EvalSettings, "ledger_tokens"),
    keep_calls: Annotated[bool, typer.Option(help="Memory conditions (models, ledger, recent) keep the covered "
                                             "steps' calls as the agent's turns, outputs masked, as an arm with "
                                             "keep_calls: true shows them.")] = default_of(EvalSettings,
                                                                                           "keep_calls"),
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N records. Default: 20, or in an existing "
                                              "--out directory the N its last run used.")] = None,
    agent_max_tokens: Annotated[int, typer.Option(help="Agent completion budget per call.")]
    = default_of(EvalSettings, "agent_max_tokens"),
    agent_grammar: Annotated[bool | None, typer.Option(
        "--agent-grammar/--no-agent-grammar", help="Sample the agent's replies under the agent loop's tool-call "
        "grammar, as `comem run` does. Default: where the engine takes grammars (llama.cpp).")] = None,
    memory_max_tokens: Annotated[int | None, typer.Option(
        help=f"Summary length budget. Default {default_of(EvalSettings, 'memory_max_tokens')}, or the largest a "
             "named bundled memory adapter was trained for.")] = None,
    truncate_tokens: Annotated[int, typer.Option(help="truncate: token budget of the recent steps kept.")]
    = default_of(EvalSettings, "truncate_tokens"),
    timeout_s: Annotated[float, typer.Option(help="Per-call timeout in seconds.")]
    = default_of(EvalSettings, "timeout_s"),
    concurrency: Annotated[int, typer.Option(help="Calls in flight at once (raise it for served models).")]
    = default_of(EvalSettings, "concurrency"),
    n_ctx: Annotated[int, typer.Option(help="Context per request of embedded servers.")]
    = default_of(ModelConfig, "n_ctx"),
    threads: Annotated[int | None, typer.Option(help="CPU threads of embedded servers (one runs at a time). "
                                                "Default: all cores.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = default_of(EvalSettings, "seed"),
    pair: Annotated[list[str] | None, typer.Option(help="Also report FIRST minus SECOND paired over records, for two "
                                                   "conditions of this run: FIRST,SECOND. Repeatable; a rerun in "
                                                   "the same --out adds it from the saved scores.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default runs/eval-memory-<time>); reusing "
                                             "one resumes it.")] = None,
) -> None:
    """Score memory models offline: the agent's next action after each model's summary vs the recorded action,
    next to no memory, truncation and the full history."""
    run_dir = out or Path("runs") / datetime.now().strftime("eval-memory-%Y%m%d-%H%M%S")
    try:
        agent = ModelConfig(model=agent_model, url=agent_url, api_key=api_key, n_ctx=n_ctx, timeout_s=timeout_s,
                            threads=threads)
        memories = [parse_memory_model(m, api_key=api_key, n_ctx=n_ctx, timeout_s=timeout_s, threads=threads)
                    for m in memory_model or []]
        settings = EvalSettings(
            data=data, limit=saved_limit(run_dir) if limit is None else limit, agent=agent, memories=memories,
            baselines=[b.strip() for b in baselines.split(",") if b.strip()], agent_max_tokens=agent_max_tokens,
            agent_grammar=agent_grammar,
            memory_max_tokens=memory_max_tokens, truncate_tokens=truncate_tokens, timeout_s=timeout_s,
            with_ledger=with_ledger, ledger_tokens=ledger_tokens, keep_calls=keep_calls,
            concurrency=concurrency, seed=seed, pairs=[parse_pair(p) for p in pair or []])
    except ValidationError as exc:
        raise ComemError(f"Invalid eval-memory settings: {first_error(exc)}.",
                         fix="see `comem eval-memory --help`.") from None
    console.print(f"[bold]comem eval-memory[/] conditions {', '.join(settings.conditions())} · agent "
                  f"{agent_model} -> {run_dir}")
    with resumable(run_dir, "loading") as tracker:
        report = asyncio.run(eval_memory(settings, run_dir, on_progress=tracker.labelled, on_error=tracker.failed))
    console.print(to_table(report))
    for table in [*rich_paired_tables(report), rich_summary_table(report)]:
        if table is not None:
            console.print(table)
    console.print(f"results: {run_dir} (results.md, results.json)")


def parse_pair(text: str) -> tuple[str, str]:
    """`--pair FIRST,SECOND` as the two condition names."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names):
        raise ComemError(f"--pair {text!r} is not two conditions.", fix="write --pair FIRST,SECOND, e.g. "
                                                                        "--pair adapter+ledger,base+ledger")
    return names[0], names[1]
