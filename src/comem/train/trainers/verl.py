"""GRPO at cluster scale with verl: our GRPO records in verl's RL dataset shape, and verl's reward entry points.

`export_verl` writes, per split, a parquet whose rows verl's RLHFDataset reads directly:

    data_source   "comem-swe" / "comem-browsecomp" (the reward variant)
    prompt        [{"role": "user", "content": <memory prompt>}], chat-templated by verl
    ability       "memory-summary"
    reward_model  {"style": "rule", "ground_truth": <reference action, ToolCall JSON>}
    extra_info    {split, index, record_id, task_id, system_prompt, task_prompt, covered, raw_steps,
                   last_observation, variant, target_step, retain}

and copies verl_example/ beside them: comem_reward.py (verl's `custom_reward_function.path`) and run_grpo.sh.
verl calls `compute_score` per sample (naive reward manager) or `compute_score_batch` per batch (batch manager,
all agent calls of a batch in flight together). Both query the frozen agent named by environment variables,
since verl passes reward functions no objects: COMEM_AGENT_URL, COMEM_AGENT_MODEL, and optionally
OPENAI_API_KEY, COMEM_AGENT_MAX_TOKENS (4000), COMEM_AGENT_TIMEOUT_S (80), COMEM_AGENT_MAX_CONCURRENCY (128).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comem.core.errors import ComemError
from comem.train.data.records import GrpoRecord, read_parquet, require_pyarrow
from comem.train.reward import REWARD_COLUMNS, ActionConsistencyReward

EXAMPLE_DIR = Path(__file__).parent / "verl_example"
ABILITY = "memory-summary"
_EXTRA = ("record_id", "task_id", "system_prompt", "task_prompt", "covered", "raw_steps", "last_observation",
          "variant", "target_step", "retain")
_rewards: dict[tuple[str, ...], ActionConsistencyReward] = {}


@dataclass
class VerlExport:
    out: Path
    rows: dict[str, int] = field(default_factory=dict)  # split -> rows written
    reward_module: Path | None = None
    launcher: Path | None = None


def verl_row(record: GrpoRecord, split: str, index: int) -> dict[str, Any]:
    """One GRPO record as a verl RL dataset row (see module doc)."""
    extra = record.model_dump(include=set(_EXTRA))
    return {
        "data_source": f"comem-{record.variant}",
        "prompt": [turn.model_dump() for turn in record.prompt],
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": record.reference_action},
        "extra_info": {"split": split, "index": index, **extra},
    }


def export_verl(data: Path, out: Path) -> VerlExport:
    """`comem train data grpo` output (or one parquet) -> verl parquet files + reward module + launcher in `out`."""
    pa, pq = require_pyarrow()
    if data.is_dir():
        splits = {name: data / f"{name}.parquet" for name in ("train", "eval") if (data / f"{name}.parquet").is_file()}
        if "train" not in splits:
            raise ComemError(f"{data} holds no train.parquet.", fix="pass the --out dir of `comem train data grpo`.")
    else:
        splits = {"train": data}
    records = {name: read_parquet(path, GrpoRecord) for name, path in splits.items()}
    out.mkdir(parents=True, exist_ok=True)
    result = VerlExport(out=out)
    for name, rows in records.items():
        table = pa.Table.from_pylist([verl_row(r, name, i) for i, r in enumerate(rows)])
        pq.write_table(table, out / f"{name}.parquet")
        result.rows[name] = len(rows)
    for example in EXAMPLE_DIR.iterdir():
        if example.is_file() and example.suffix in (".py", ".sh"):
            shutil.copy2(example, out / example.name)
    result.reward_module, result.launcher = out / "comem_reward.py", out / "run_grpo.sh"
    return result


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None,
                  **kwargs: Any) -> float:
    """verl's per-sample reward signature: the action-consistency reward (0..10) of one summary."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info or {}])[0]


def compute_score_batch(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[str],
                        extra_infos: Sequence[dict[str, Any]], **kwargs: Any) -> list[float]:
    """verl's batch reward signature: every summary of the batch scored with its agent calls in flight together."""
    reward = _agent_reward()
    infos = list(extra_infos)
    missing = sorted({c for info in infos for c in REWARD_COLUMNS if c != "reference_action" and c not in info})
    if missing:
        raise ComemError(f"verl extra_info lacks {', '.join(missing)}.",
                         fix="export the data with `comem train export-verl`.")
    columns: dict[str, list[Any]] = {c: [info[c] for info in infos] for c in REWARD_COLUMNS if c != "reference_action"}
    columns["reference_action"] = list(ground_truths)
    return reward(list(solution_strs), **columns)


def _agent_reward() -> ActionConsistencyReward:
    """One reward (agent client and event loop) per process and agent settings."""
    url, model = os.environ.get("COMEM_AGENT_URL"), os.environ.get("COMEM_AGENT_MODEL")
    if not url or not model:
        raise ComemError("the verl reward needs the frozen agent's address.",
                         fix="export COMEM_AGENT_URL=http://host:port/v1 and COMEM_AGENT_MODEL=<served name>.")
    key = (url, model, *(os.environ.get(v, "") for v in ("COMEM_AGENT_MAX_TOKENS", "COMEM_AGENT_TIMEOUT_S",
                                                       "COMEM_AGENT_MAX_CONCURRENCY")))
    if key not in _rewards:
        try:
            max_tokens = int(os.environ.get("COMEM_AGENT_MAX_TOKENS", "4000"))
            timeout_s = float(os.environ.get("COMEM_AGENT_TIMEOUT_S", "80"))
            concurrency = int(os.environ.get("COMEM_AGENT_MAX_CONCURRENCY", "128"))
        except ValueError as exc:
            raise ComemError(f"bad COMEM_AGENT_* setting ({exc}).", fix="use numbers.") from None
        _rewards[key] = ActionConsistencyReward(base_url=url, model=model, api_key=os.environ.get("OPENAI_API_KEY"),
                                                max_tokens=max_tokens, timeout_s=timeout_s,
                                                max_concurrency=concurrency)
    return _rewards[key]
