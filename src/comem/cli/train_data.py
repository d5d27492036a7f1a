"""`comem train data grpo|sft|oracle`: recorded trajectories -> GRPO prompts, teacher summaries for the SFT
warm-up, and oracle research trajectories to build them from.

The command functions are plain; cli/main.py registers them on `data_app` wrapped in `friendly` (as for `bench`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import statistics
from pathlib import Path
from typing import Annotated, Any

import typer

from comem.cli.common import console, resumable
from comem.context.memory import MemorySettings
from comem.core.config import default_of
from comem.core.errors import ComemError
from comem.core.jsonlog import read_settings
from comem.llm.endpoint import ModelConfig
from comem.train.data.build import (
    RETAIN_HELP,
    BuildOptions,
    GrpoBuild,
    TaskSplit,
    build_grpo,
    parse_retain,
    shuffle_cap,
    split_by_task,
)
from comem.train.data.records import GrpoRecord

data_app = typer.Typer(help="Build the memory model's training data: GRPO prompts and SFT teacher summaries.",
                       no_args_is_help=True)

RetainOpt = Annotated[str, typer.Option(help=f"Raw steps the agent sees after the summary: {RETAIN_HELP}.")]
FractionOpt = Annotated[float, typer.Option(help="Share of tasks held out for eval (split by task, never by step).")]
SeedOpt = Annotated[int, typer.Option(help="Seed for the split, the shuffles and random retain.")]
MinStepsOpt = Annotated[int, typer.Option(help="Skip trajectories with fewer steps.")]
MaxStepsOpt = Annotated[int, typer.Option(help="Use only the first N steps of each trajectory (the original: 40).")]
VariantOpt = Annotated[str, typer.Option(help="Reward variant the records are scored with: swe or browsecomp.")]
ArmOpt = Annotated[str | None, typer.Option(help="Which arm of a `comem run` directory (default: full).")]
PromptOpt = Annotated[Path | None, typer.Option(help="Memory prompt template with {conversation} (default: the "
                                                "paper's v5); use the one the memory model will run with.")]
OBS_CHARS: int = default_of(MemorySettings, "memory_obs_chars")
ObsCharsOpt = Annotated[int, typer.Option(help="Observations are cut to head+tail of this size in memory prompts.")]


def _options(retain: str, min_steps: int, max_steps: int, variant: str, seed: int, memory_prompt: Path | None,
             memory_obs_chars: int) -> BuildOptions:
    parse_retain(retain)
    if variant not in ("swe", "browsecomp"):
        raise ComemError(f"Unknown variant {variant!r}.", fix="Use --variant swe or --variant browsecomp.")
    memory = MemorySettings(memory_prompt=memory_prompt, memory_obs_chars=memory_obs_chars)
    return BuildOptions(retain=retain, min_steps=min_steps, max_steps=max_steps, variant=variant, seed=seed,
                        memory=memory)


def _split_source(sources: list[str], arm: str | None, options: BuildOptions, eval_fraction: float,
                  keep: TaskSplit | None = None) -> dict[str, Any]:
    """Load, build and split by task; the pieces both commands need. Several sources (trajectory sets recorded
    apart) make one set, so long as no task is in two of them."""
    from comem.trajectories.sources import load_recorded

    built, trajectories, seen = GrpoBuild(), 0, {}
    for index, source in enumerate(sources):
        loaded = load_recorded(source, arm=arm)
        part = build_grpo(loaded, options, source)
        for task in {r.task_id for r in part.records}:
            if seen.setdefault(task, index) != index:
                raise ComemError(f"task {task} has trajectories in both {sources[seen[task]]} and {source}.",
                                 fix="pass each trajectory set once, or sets of different tasks.")
        trajectories += len(loaded)
        built.extend(part)
    if not built.records:
        raise ComemError(f"{' and '.join(sources)} yield{'s' * (len(sources) == 1)} no GRPO records "
                         f"({trajectories} trajectories; "
                         f"{built.short_trajectories} too short, {built.nothing_covered} with nothing to summarise, "
                         f"{built.no_action} targets without an action).",
                         fix="Pass longer trajectories, or lower --retain / --min-steps.")
    train, held_out = split_by_task(built.records, eval_fraction, options.seed, keep)
    return {"trajectories": trajectories, "built": built, "train": train, "eval": held_out}


def _kept_split(directory: Path) -> TaskSplit:
    """The split an earlier `comem train data grpo --out DIRECTORY` made (its manifest's task lists)."""
    saved = read_settings(directory / "manifest.json")
    tasks = (saved or {}).get("tasks")
    if saved is None or saved.get("kind") != "grpo" or not isinstance(tasks, dict) or not all(
            isinstance(tasks.get(side), list) for side in ("train", "eval")):
        raise ComemError(f"{directory} holds no split of `comem train data grpo` (manifest.json with its tasks).",
                         fix="pass the --out directory of an earlier `comem train data grpo` run to --keep-split.")
    return TaskSplit(train=frozenset(tasks["train"]), eval=frozenset(tasks["eval"]))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def grpo(
    source: Annotated[list[str], typer.Argument(help="Recorded trajectories: `comem run` directories, arm "
                                                "directories or trajectory .jsonl, SWE-agent .traj files, or "
                                                "R2E-Gym-style JSONL; several sets of other tasks make one.")],
    out: Annotated[Path, typer.Option(help="Output directory: train.parquet, eval.parquet, manifest.json.")],
    retain: RetainOpt = "1",
    eval_fraction: FractionOpt = 0.2,
    seed: SeedOpt = 42,
    max_records: Annotated[int | None, typer.Option(help="Cap on train records after a seeded shuffle (the "
                                                    "original: 3200).")] = 512,
    max_eval_records: Annotated[int | None, typer.Option(help="Cap on eval records (the original: 512).")] = 128,
    min_steps: MinStepsOpt = 2,
    max_steps: MaxStepsOpt = 40,
    variant: VariantOpt = "swe",
    arm: ArmOpt = None,
    memory_prompt: PromptOpt = None,
    memory_obs_chars: ObsCharsOpt = OBS_CHARS,
    needs_outputs: Annotated[bool, typer.Option(help="Keep only records whose next action uses a name that only "
                                                "the summarised steps' outputs hold (a line number, a printed "
                                                "name): the records where a memory can matter.")] = False,
    keep_split: Annotated[Path | None, typer.Option(help="An earlier `comem train data grpo` output directory: its "
                                                    "tasks stay on their side and only new tasks are drawn "
                                                    "(--eval-fraction of them), so a grown set keeps its held-out "
                                                    "tasks.")] = None,
) -> None:
    """One GRPO record per (trajectory, target step): the memory prompt for the history before it, and the
    recorded action the agent should take once it sees the summary. Writes train/eval parquet split by task."""
    from comem.train.data.needs import output_only_names
    from comem.train.data.records import write_parquet

    options = _options(retain, min_steps, max_steps, variant, seed, memory_prompt, memory_obs_chars)
    split = _split_source(source, arm, options, eval_fraction, _kept_split(keep_split) if keep_split else None)
    across = len(split["built"].records) - len(split["train"]) - len(split["eval"])  # tasks of questions on both sides
    needing = {side: [r for r in split[side] if output_only_names(r)] for side in ("train", "eval")}
    if needs_outputs:
        split = {**split, **needing}
    train = shuffle_cap(split["train"], max_records, seed)
    held_out = shuffle_cap(split["eval"], max_eval_records, seed)
    write_parquet(out / "train.parquet", train, GrpoRecord)
    write_parquet(out / "eval.parquet", held_out, GrpoRecord)
    built = split["built"]
    _write_json(out / "manifest.json", {
        "kind": "grpo",
        "source": source[0] if len(source) == 1 else source,
        "options": {**options.model_dump(mode="json"), "eval_fraction": eval_fraction, "max_records": max_records,
                    "max_eval_records": max_eval_records, "arm": arm, "needs_outputs": needs_outputs,
                    "keep_split": str(keep_split) if keep_split else None},
        "trajectories": split["trajectories"],
        "skipped": {"short_trajectories": built.short_trajectories, "nothing_covered": built.nothing_covered,
                    "no_action": built.no_action},
        "candidates": {"train": len(split["train"]), "eval": len(split["eval"])},
        "left_out_across_the_split": across,
        "needing_outputs": {side: len(records) for side, records in needing.items()},
        "records": {"train": len(train), "eval": len(held_out)},
        "tasks": {"train": sorted({r.task_id for r in split["train"]}),
                  "eval": sorted({r.task_id for r in split["eval"]})},
    })
    console.print(f"[bold]comem train data grpo[/] {split['trajectories']} trajectories -> {len(train)} train / "
                  f"{len(held_out)} eval records (of {len(split['train'])} / {len(split['eval'])}; tasks "
                  f"{len({r.task_id for r in split['train']})} / {len({r.task_id for r in split['eval']})}) -> {out}")
    if across:
        console.print(f"{across} records of tasks that combine held-out and training questions are left out")
    console.print(f"next action needs a name only the summarised outputs hold: {len(needing['train'])} train / "
                  f"{len(needing['eval'])} eval candidates" + ("" if needs_outputs else " (--needs-outputs keeps "
                                                                    "only those)"))
    if not held_out:
        console.print("[yellow]no eval records[/]: pass more tasks or --eval-fraction > 0 for a held-out split.")


def _sft_inputs(source: str, arm: str | None, options: BuildOptions,
                eval_fraction: float) -> tuple[list[GrpoRecord], dict[str, Any] | None]:
    """GRPO records to summarise: a GRPO parquet, a `grpo` output directory (its train.parquet), or trajectories
    (built and split like `grpo` with the same options, train side only, so held-out tasks stay out of SFT).
    Second, where ready-made records came from (the source and options of their `grpo` manifest, empty if it is
    missing); None for trajectories, which this command builds with its own options."""
    from comem.train.data.records import read_parquet

    path = Path(source).expanduser()
    if path.suffix == ".parquet":
        return read_parquet(path, GrpoRecord), _origin(path.parent / "manifest.json")
    if path.is_dir() and (path / "manifest.json").is_file() and (path / "train.parquet").is_file():
        return read_parquet(path / "train.parquet", GrpoRecord), _origin(path / "manifest.json")
    return _split_source([source], arm, options, eval_fraction)["train"], None


def _origin(manifest: Path) -> dict[str, Any]:
    saved = read_settings(manifest) or {}  # an unreadable manifest is one clear error
    return {key: saved[key] for key in ("source", "options") if key in saved}


def sft(
    source: Annotated[str, typer.Argument(help="A GRPO parquet, a `comem train data grpo` directory (its "
                                          "train.parquet), or recorded trajectories (built and split like grpo).")],
    out: Annotated[Path, typer.Option(help="Output directory: sft.parquet, sft.checkpoint.jsonl, "
                                      "sft.manifest.json. Reusing it resumes.")],
    teacher_model: Annotated[str, typer.Option(help="Bundled model name or GGUF path (embedded), or the served "
                                               "model name with --teacher-url.")] = default_of(ModelConfig, "model"),
    teacher_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the teacher.",
                                                    envvar="COMEM_TEACHER_URL")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for the URL (default $OPENAI_API_KEY).")] = None,
    max_tokens: Annotated[int, typer.Option(help="Summary length budget in tokens (a summary that reaches it is "
                                            "cut, and no target).")] = 1024,
    temperature: Annotated[float, typer.Option(help="Teacher sampling temperature (of the samples after the first "
                                               "with --samples).")] = 0.0,
    samples: Annotated[int, typer.Option(help="Summaries per record: the first greedy, the rest sampled; the agent "
                                         "scores each and the best is kept (needs --agent-model). 0: no teacher, "
                                         "the best --extractive view (one view: no scoring needed).")] = 1,
    extractive: Annotated[str, typer.Option(help="Comma-separated views of the covered steps scored beside the "
                                            "teacher's summaries (needs --agent-model unless it is the only "
                                            "candidate): ledger (files, commands, errors, names), recent (the "
                                            "newest steps' calls and results).")] = "",
    agent_model: Annotated[str | None, typer.Option(help="The frozen agent that scores the summaries (bundled name "
                                                    "or GGUF, or the served name with --agent-url): reward-filtered "
                                                    "targets.")] = None,
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the scoring agent.",
                                                  envvar="COMEM_AGENT_URL")] = None,
    min_reward: Annotated[float | None, typer.Option(help="Leave out records whose best summary scores below this "
                                                     "(0-10).")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 8,
    timeout_s: Annotated[float, typer.Option(help="Per-request timeout in seconds.")]
    = default_of(ModelConfig, "timeout_s"),
    n_ctx: Annotated[int, typer.Option(help="Context per request of an embedded teacher.")]
    = default_of(ModelConfig, "n_ctx"),
    threads: Annotated[int | None, typer.Option(help="CPU threads of an embedded teacher. Default: all cores.")]
    = None,
    max_records: Annotated[int | None, typer.Option(help="Summarise at most N records (seeded shuffle).")] = 512,
    retain: RetainOpt = "1",
    eval_fraction: FractionOpt = 0.2,
    seed: SeedOpt = 42,
    min_steps: MinStepsOpt = 2,
    max_steps: MaxStepsOpt = 40,
    variant: VariantOpt = "swe",
    arm: ArmOpt = None,
    memory_prompt: PromptOpt = None,
    memory_obs_chars: ObsCharsOpt = OBS_CHARS,
) -> None:
    """Teacher summaries of the memory prompts, for the SFT warm-up (TRL prompt-completion parquet); with
    --agent-model, each scored by the agent and the best of --samples kept."""
    from comem.llm.endpoint import thread_plan
    from comem.llm.open import open_model
    from comem.train.data.teacher import teacher_summaries
    from comem.train.eval_memory import action_judge
    from comem.train.reward.agent_reward import reply_grammar

    views = [v.strip() for v in extractive.split(",") if v.strip()]
    options = _options(retain, min_steps, max_steps, variant, seed, memory_prompt, memory_obs_chars)
    inputs, origin = _sft_inputs(source, arm, options, eval_fraction)
    records = shuffle_cap(inputs, max_records, seed)
    spec = ModelConfig(model=teacher_model, url=teacher_url, api_key=api_key, n_ctx=n_ctx, timeout_s=timeout_s,
                       threads=threads)
    if agent_url and not agent_model:
        raise ComemError("--agent-url needs --agent-model (the served model name).", fix="add --agent-model NAME.")
    judge_spec = ModelConfig(model=agent_model, url=agent_url, api_key=api_key, n_ctx=n_ctx, timeout_s=timeout_s,
                             threads=threads) if agent_model else None
    # the teacher takes the memory model's share beside a judge, every core alone
    agent_threads, teacher_threads = thread_plan(judge_spec or spec, spec,
                                                 need_memory=judge_spec is not None and samples > 0)
    target = out / "sft.parquet"
    extra = f"; the views {', '.join(views)}" if views else ""
    teacher_text = (f"teacher {teacher_model}{f' at {teacher_url}' if teacher_url else ' (embedded)'}" if samples
                    else "no teacher")
    console.print(f"[bold]comem train data sft[/] {len(records)} records, {teacher_text}"
                  f"{extra}"
                  f"{f', best of {samples + len(views)} by agent {agent_model}' if judge_spec else ''} -> {target}")

    async def go() -> Any:
        # an embedded server's KV cache grows with its slots: at most 4 keeps a CPU teacher's memory modest
        async with contextlib.AsyncExitStack() as stack:
            teacher = await stack.enter_async_context(
                open_model(spec, "teacher", out, teacher_threads, n_parallel=min(concurrency, 4))) if samples else None
            judge = None
            if judge_spec is not None:
                agent = await stack.enter_async_context(
                    open_model(judge_spec, "agent", out, agent_threads, n_parallel=min(concurrency, 4)))
                grammar = await reply_grammar(agent, variant=options.variant)
                judge = action_judge(agent, grammar=grammar, timeout_s=timeout_s)
            return await teacher_summaries(records, teacher, target, teacher_model=teacher_model if samples else None,
                                           max_tokens=max_tokens, temperature=temperature, samples=samples,
                                           extractive=views, judge=judge, min_reward=min_reward,
                                           concurrency=concurrency, on_progress=progress, on_error=log_error)

    label = "teacher summaries" if samples else "views scored" if judge_spec else "views"
    with resumable(out, label, total=len(records)) as tracker:
        progress, log_error = tracker.update, tracker.failed
        result = asyncio.run(go())
    report = result.report
    _write_json(out / "sft.manifest.json", {
        "kind": "sft", "source": source, "teacher_model": teacher_model, "teacher_url": teacher_url,
        **({} if origin is None else {"records_from": origin}),  # the build options that made these records
        "options": {**({**options.model_dump(mode="json"), "eval_fraction": eval_fraction} if origin is None else {}),
                    "max_records": max_records, "max_tokens": max_tokens, "temperature": temperature,
                    "samples": samples, "extractive": views, "agent_model": agent_model, "agent_url": agent_url,
                    "min_reward": min_reward},
        "records": len(result.records), "requested": len(records), "failed": report.failed, "cut": result.cut,
        "errors": [{"record_id": str(k), "error": m} for k, m in report.errors[:20]],
    })
    console.print(f"{len(result.records)}/{len(records)} summarised ({report.finished} now, {report.skipped} from "
                  f"the checkpoint, {report.failed} failed) -> {target}")
    if result.cut:
        console.print(f"[yellow]{result.cut} left out: every summary of theirs reached --max-tokens {max_tokens} "
                      "(a cut summary is no target; raise --max-tokens to keep them).[/]")
    scored = [r for r in result.records if r.reward is not None and r.first_reward is not None]
    if scored:
        console.print(f"agent reward of the kept summaries {statistics.fmean(r.reward or 0.0 for r in scored):.2f} "
                      f"vs {statistics.fmean(r.first_reward or 0.0 for r in scored):.2f} for the greedy ones "
                      f"({len(scored)} records; {sum(r.scored or r.candidates for r in scored)} of "
                      f"{sum(r.candidates for r in scored)} candidates made and scored, as a finished one at 10 "
                      "ends its record)")
    won = collections.Counter(r.kept for r in result.records if r.kept)
    if views and won:
        console.print("kept: " + ", ".join(f"{label} {n}" for label, n in won.most_common()))
    if report.failed:
        console.print("[yellow]rerun the same command to retry the failed records.[/]")


def oracle(
    source: Annotated[str, typer.Argument(help="BrowseComp-style questions with a corpus: a task source such as "
                                          "browsecomp:mini?combine=2 (every two questions asked together).")],
    out: Annotated[Path, typer.Option(help="Run directory to write: <out>/oracle/trajectories/*.jsonl.")],
    hops: Annotated[Path | None, typer.Option(help="hops.jsonl: {task_id, hops: [{query, url}]} per question "
                                              "(default: the one beside the bundled mini suite).")] = None,
    order: Annotated[str, typer.Option(help="interleaved (each hop of every question in turn) or sequential "
                                       "(one question after the other).")] = "interleaved",
    limit: Annotated[int | None, typer.Option(help="Only the first N tasks.")] = None,
) -> None:
    """The searches that solve each task, run in the real browser and written as a `comem run` arm: trajectories
    whose next actions use what earlier outputs said (`comem train data grpo OUT --variant browsecomp`)."""
    from comem.tasks.browsecomp import BrowseTask, mini_suite_dir
    from comem.tasks.sources import load_source
    from comem.train.data.oracle import read_hops, write_oracle

    if order not in ("interleaved", "sequential"):
        raise ComemError(f"Unknown order {order!r}.", fix="Use --order interleaved or --order sequential.")
    if limit is not None and limit < 1:
        raise ComemError(f"--limit must be at least 1, got {limit}.", fix="Pass a positive --limit, or none.")
    tasks = load_source(source)
    if not all(isinstance(task, BrowseTask) for task in tasks):
        raise ComemError(f"{source} is not a source of BrowseComp-style questions.",
                         fix="Pass browsecomp:mini?combine=2 or browsecomp:PATH.jsonl?corpus=DIR&combine=2.")
    ends = write_oracle(tasks[:limit], read_hops(hops or mini_suite_dir() / "hops.jsonl"), out, order)  # type: ignore[arg-type]
    steps = sum(end.steps for end in ends)
    console.print(f"[bold]comem train data oracle[/] {len(ends)} trajectories, {steps} steps, "
                  f"{sum(bool(end.resolved) for end in ends)} graded correct -> {out / 'oracle'}")
