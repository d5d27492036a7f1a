"""SFT warm-up of the memory model on teacher summaries (docs/method.md §8) with TRL's SFTTrainer.

Rows are prompt-completion conversations (`comem train data sft`): the chat template renders the memory prompt as
the user turn and the teacher's summary as the assistant turn, and the loss covers the completion only. A row
longer than `max_length` tokens is left out and counted, not cut: the cut would fall on its end, the completion,
and teach a summary that stops mid-line (or nothing).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comem.core.errors import ComemError
from comem.llm.checkpoint import require_train_extra
from comem.train.data.records import SftRecord
from comem.train.trainers.init_adapter import read_init_adapter
from comem.train.trainers.settings import SftSettings, trl_config
from comem.train.trainers.weights import base_model_dir

if TYPE_CHECKING:
    from comem.train.trainers.common import TrainResult


def train_sft(data: Path, base: str, out: Path, settings: SftSettings, *, init_adapter: Path | None = None) \
        -> TrainResult:
    """Fine-tune `base` (a bundled model name or an HF checkpoint dir) on `data` (sft.parquet or its dir);
    `init_adapter` (a LoRA trained on `base`) is trained further instead of a fresh LoRA."""
    require_train_extra()
    from trl import SFTTrainer

    from comem.train.trainers.common import MetricsLog, load_records, run_training, trainer_model

    dataset = load_records(data, SftRecord, "sft.parquet", columns=("prompt", "completion"))
    base_dir = base_model_dir(base)
    init = read_init_adapter(init_adapter, base_dir) if init_adapter is not None else None
    settings = init.applied_to(settings) if init is not None else settings
    dataset, too_long = rows_that_fit(dataset, base_dir, settings.max_length, data)
    config = sft_config(settings, out)
    model, peft_config = trainer_model(base_dir, settings, init)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, peft_config=peft_config,
                         callbacks=[MetricsLog(out)])
    manifest = {"kind": "sft", "base": base, "base_dir": base_dir, "init_adapter": init and init.path,
                "data": data, "records": len(dataset), "left_out_too_long": too_long,
                "settings": settings.model_dump()}
    result = run_training(trainer, out, manifest, settings, base_dir)
    return replace(result, left_out=too_long)


def rows_that_fit(dataset: Any, base_dir: Path, max_length: int, data: Path) -> tuple[Any, int]:
    """The rows whose chat-templated prompt + completion fit `max_length` tokens, and how many did not."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    lengths = [len(tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True,
                                                 return_dict=True)["input_ids"]) for row in dataset]
    keep = [i for i, n in enumerate(lengths) if n <= max_length]
    if not keep:
        raise ComemError(f"Every row of {data} is longer than max_length ({max_length} tokens; the shortest has "
                         f"{min(lengths)}).", fix=f"pass --set max_length={max(lengths)} (the longest row).")
    return dataset.select(keep), len(lengths) - len(keep)


def sft_config(settings: SftSettings, out: Path, processes: int | None = None) -> Any:
    """TRL's SFTConfig: prompt-completion rows, loss on the completion, no packing (rows_that_fit: none is cut)."""
    from trl import SFTConfig

    return trl_config(SFTConfig, settings, out, processes=processes, max_length=settings.max_length,
                      completion_only_loss=True, packing=False)
