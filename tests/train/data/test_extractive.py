"""The extractive views offered beside a teacher's summaries: the covered steps only, inside the view budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comem.context.base import estimate_tokens, view_budget
from comem.context.ledger import ledger_text
from comem.context.recent import recent_text
from comem.core.records import Step
from comem.llm.models import resolve_model
from comem.train.data.build import build_grpo_records
from comem.train.data.extractive import VIEWS, ledger_view, recent_view
from comem.train.data.records import ChatTurn, GrpoRecord
from comem.trajectories.sources import load_recorded
from tests.context.helpers import RECENT_STEPS as STEPS
from tests.extras import needs, needs_model

TRAJECTORIES = Path(__file__).parents[3] / "data" / "trajectories" / "qwen2.5-coder-1.5b-full-32"


def record(steps: list[Step], covered: int) -> GrpoRecord:
    return GrpoRecord(record_id=f"t:{covered}", task_id="t", source="test", target_step=covered, retain=0,
                      covered=covered, prompt=[ChatTurn(role="user", content="summarise")], system_prompt="sys",
                      task_prompt="Fix `divide` in calc/ops.py.", raw_steps="[]",
                      last_observation=steps[covered - 1].observation,
                      reference_action='{"name": "submit", "arguments": {}}', variant="swe",
                      history=json.dumps([s.model_dump(mode="json") for s in steps[:covered]]))


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("max_tokens", [32, 64, 128])
def test_views_fit_the_budget_with_the_margin(view: str, max_tokens: int) -> None:
    assert view_budget(max_tokens) < max_tokens
    assert estimate_tokens(VIEWS[view](record(STEPS, 4), max_tokens)) <= view_budget(max_tokens) + 1


def test_views_see_only_the_covered_steps() -> None:
    assert recent_view(record(STEPS, 4), 512) == recent_text(STEPS[:4], view_budget(512))
    task = "Fix `divide` in calc/ops.py."
    assert ledger_view(record(STEPS, 4), 256) == ledger_text(STEPS[:4], task, view_budget(256))
    assert "pytest" in ledger_view(record(STEPS, 4), 256) and "pytest" not in ledger_view(record(STEPS, 3), 256)
    assert "ZeroDivisionError: division by zero" in ledger_view(record(STEPS, 4), 256)


@needs("transformers", "gguf", extra="train")
@needs_model("smollm2-135m")
@pytest.mark.parametrize("max_tokens", [128, 256])
def test_views_fit_the_budget_in_the_smallest_tokenizer(max_tokens: int) -> None:
    """A target longer than the budget teaches a summary the budget cuts off: every view of the repository's coding
    trajectories fits `max_tokens` in SmolLM2's real tokens (the fewest bytes a token of the bundled models)."""
    from transformers import AutoTokenizer

    gguf = resolve_model("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    records = build_grpo_records(load_recorded(TRAJECTORIES), retain=1)
    lengths = {view: max(len(tokenizer(VIEWS[view](r, max_tokens))["input_ids"]) for r in records) for view in VIEWS}
    assert len(records) > 150 and all(0 < n <= max_tokens for n in lengths.values()), lengths
