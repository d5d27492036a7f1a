"""`comem train sft|grpo|export-verl|export-gguf|curves`: train the memory model with TRL, export the GRPO data for
verl, export a trained LoRA adapter as a GGUF adapter for the embedded llama.cpp server, or draw training curves.

The command functions are plain; cli/main.py registers them on `train_app` wrapped in `friendly` (as for `bench`):
`sft`, `grpo`, `curves`, `export_verl` under the name `export-verl` and `export_gguf` under `export-gguf`.
Multi-GPU runs go through accelerate, e.g.
`accelerate launch --config_file <trainers>/accelerate/zero3_8gpu.yaml -m comem.cli train grpo ...` (README.md).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from comem.cli.common import console
from comem.core.config import default_of
from comem.core.errors import ComemError
from comem.llm.endpoint import ModelConfig
from comem.llm.models import DEFAULT_MODEL

if TYPE_CHECKING:
    from comem.train.trainers.common import TrainResult

train_app = typer.Typer(help="Train the memory model (SFT warm-up, GRPO with the frozen agent's reward) and "
                        "export data for verl.", no_args_is_help=True)

BaseOpt = Annotated[str, typer.Option("--model", help="Base model: a bundled name (dequantised from its GGUF once) "
                                      "or a Hugging Face checkpoint dir, e.g. the `final/` of `comem train sft`.")]
OutOpt = Annotated[Path | None, typer.Option(help="Output dir (checkpoints, metrics.jsonl, final/). "
                                             "Default: runs/train/<kind>-<timestamp>.")]
PresetOpt = Annotated[str, typer.Option(help="Settings preset: auto (gpu when CUDA is there), cpu, gpu, or a YAML "
                                        "file with sft:/grpo: sections.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a preset key, e.g. --set max_steps=5 "
                                                  "--set lora.r=8 --set trl.report_to=wandb (repeatable).")]
LoraOpt = Annotated[bool | None, typer.Option(help="Train LoRA adapters (PEFT) and merge them into final/. "
                                              "Default: the preset's lora.enabled.")]
InitAdapterOpt = Annotated[Path | None, typer.Option(
    help="Keep training this LoRA adapter (the adapter/ dir of a --lora run, or that run's --out dir) instead of a "
    "fresh one, so the result is one adapter on --model, which must be the base it was trained from (not its "
    "merged final/). Implies --lora; r, alpha, dropout and targets come from the adapter, not from --set lora.*.")]


def sft(
    data: Annotated[Path, typer.Option(help="sft.parquet from `comem train data sft`, or its directory.")],
    model: BaseOpt = DEFAULT_MODEL,
    out: OutOpt = None,
    preset: PresetOpt = "auto",
    set_: SetOpt = None,
    lora: LoraOpt = None,
    init_adapter: InitAdapterOpt = None,
) -> None:
    """SFT warm-up on teacher summaries (TRL SFTTrainer; loss on the summary only)."""
    from comem.train.trainers.settings import load_settings
    from comem.train.trainers.sft import train_sft

    settings = load_settings("sft", preset, _with_lora(set_, lora, init_adapter))
    target = out or _default_out("sft")
    console.print(f"[bold]comem train sft[/] {model} on {data} -> {target}")
    _report(train_sft(data, model, target, settings, init_adapter=init_adapter))


def grpo(
    data: Annotated[Path, typer.Option(help="train.parquet from `comem train data grpo`, or its directory.")],
    model: BaseOpt = DEFAULT_MODEL,
    out: OutOpt = None,
    preset: PresetOpt = "auto",
    set_: SetOpt = None,
    lora: LoraOpt = None,
    init_adapter: InitAdapterOpt = None,
    agent_model: Annotated[str, typer.Option(help="The frozen agent: a bundled model name or GGUF path (embedded), "
                                             "or the served model name with --agent-url.")] = DEFAULT_MODEL,
    agent_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the frozen agent (vLLM, "
                                                  "SGLang). Env: COMEM_AGENT_URL.", envvar="COMEM_AGENT_URL")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for --agent-url (default $OPENAI_API_KEY).")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads of an embedded agent server.")] = 2,
    n_ctx: Annotated[int, typer.Option(help="Context size of an embedded agent server.")]
    = default_of(ModelConfig, "n_ctx"),
) -> None:
    """GRPO on the memory model; the reward is the frozen agent's action consistency (TRL GRPOTrainer), or with
    `--set reward=needed_names` the share of the names the next action needs that a summary keeps (no agent)."""
    from comem.train.trainers.grpo import train_grpo
    from comem.train.trainers.settings import load_settings

    settings = load_settings("grpo", preset, _with_lora(set_, lora, init_adapter))
    agent = ModelConfig(model=agent_model, url=agent_url, api_key=api_key, n_ctx=n_ctx,
                        timeout_s=settings.agent_timeout_s)
    target = out or _default_out("grpo")
    judge = (f"agent {agent_url or 'embedded'} {agent_model}" if settings.reward == "action_consistency"
             else "reward needed_names (no agent)")
    console.print(f"[bold]comem train grpo[/] {model} on {data}, {judge} -> {target}")
    _report(train_grpo(data, model, target, settings, agent, agent_threads=threads, init_adapter=init_adapter))


def export_verl(
    data: Annotated[Path, typer.Option(help="A `comem train data grpo` directory (train/eval.parquet) or one "
                                       "parquet file.")],
    out: Annotated[Path, typer.Option(help="Directory for verl's parquet files, reward module and launcher.")],
) -> None:
    """Write the GRPO data in verl's RL dataset shape, with a reward module and a GRPO launcher script."""
    from comem.train.trainers.verl import export_verl as export

    result = export(data, out)
    for split, count in result.rows.items():
        console.print(f"{split}: {count} rows -> {out / f'{split}.parquet'}")
    console.print(f"reward: {result.reward_module} (compute_score / compute_score_batch)\nlauncher: {result.launcher}")


def export_gguf(
    adapter: Annotated[Path, typer.Argument(help="The adapter/ dir of a --lora run (adapter_config.json + "
                                            "adapter_model.safetensors).")],
    out: Annotated[Path, typer.Option(help="The GGUF adapter file to write.")],
    base: Annotated[str | None, typer.Option(help="The bundled model or GGUF file it applies to. Default: the "
                                             "bundled model the adapter was trained from.")] = None,
    dtype: Annotated[str, typer.Option(help="Tensor type: f16 (half the size) or f32.")] = "f16",
) -> None:
    """Convert a LoRA adapter into a GGUF LoRA adapter the embedded llama.cpp server loads (BASE+lora:FILE)."""
    from comem.train.trainers.lora_gguf import export_lora_gguf

    if dtype not in ("f16", "f32"):
        raise ComemError(f"--dtype {dtype!r} is not a GGUF adapter type.", fix="use --dtype f16 or --dtype f32.")
    result = export_lora_gguf(adapter, out, base=base, dtype="f16" if dtype == "f16" else "f32")
    console.print(f"{result.pairs} LoRA pairs (rank {result.rank}, alpha {result.alpha:g}, {result.architecture}) "
                  f"-> {result.path} ({result.size / 1e6:.1f} MB)")
    console.print(f"use it: --memory-model {result.spec}")


def curves(
    runs: Annotated[list[Path], typer.Argument(help="Output dirs of `comem train sft|grpo` runs, in the order they "
                                               "were trained (a run continuing another's adapter comes after it).")],
    metric: Annotated[str | None, typer.Option(
        help="The logged value to follow, e.g. loss, mean_token_accuracy, reward. Default: each run's own curve "
        "(SFT loss, GRPO reward).")] = None,
    every: Annotated[int, typer.Option(min=1, help="Average each this many logged steps.")] = 10,
    out: Annotated[Path | None, typer.Option(help="Also draw the runs end to end into this PNG (matplotlib, in "
                                             "the bench extra).")] = None,
) -> None:
    """The training curve of one run or of stages chained: each run's means over windows of steps, and a figure."""
    from comem.train.curves import plot_stages, read_stage

    stages = [read_stage(run, metric) for run in runs]
    for stage in stages:
        means = ", ".join(f"{value:.4g}" for value in stage.window_means(every))
        console.print(f"{stage.name}: {len(stage.values)} steps, {stage.metric} {stage.values[0]:.4g} -> "
                      f"{stage.values[-1]:.4g}; means of {every}: {means}")
    if out is not None:
        console.print(f"figure: {plot_stages(stages, out, every)}")


def _with_lora(overrides: list[str] | None, lora: bool | None, init_adapter: Path | None) -> list[str]:
    if init_adapter is not None and lora is False:
        raise ComemError("--init-adapter continues a LoRA adapter, which --no-lora contradicts.",
                         fix="drop --no-lora, or drop --init-adapter to fine-tune every weight.")
    return [*(overrides or []), *([f"lora.enabled={str(lora).lower()}"] if lora is not None else [])]


def _default_out(kind: str) -> Path:
    return Path("runs") / "train" / f"{kind}-{datetime.now():%Y%m%d-%H%M%S}"


def _report(result: TrainResult) -> None:
    curve = result.curve
    trend = f"{result.metric} {curve[0]:.4g} -> {curve[-1]:.4g} over {len(curve)} logged steps" if curve else \
        f"no {result.metric} logged"
    console.print(f"{result.steps} steps in {result.wall_s:.0f} s; {trend} ({result.out / 'metrics.jsonl'})")
    if result.left_out:
        console.print(f"[yellow]rows left out, longer than max_length: {result.left_out}[/] (train.json); "
                      "--set max_length=N keeps them")
    console.print(f"model: {result.final}  (serve it with --memory-model hf:{result.final})")
    if (result.out / "adapter").is_dir():
        console.print(f"adapter: {result.out / 'adapter'}  (ship it: comem train export-gguf {result.out / 'adapter'} "
                      "--out memory.gguf)")
