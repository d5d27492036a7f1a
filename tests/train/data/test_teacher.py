"""Teacher summaries against a real loopback HTTP server: bounded concurrency, resume from the checkpoint without
re-asking finished records, and failures counted, not fatal (unless every record fails)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comem.core.errors import ComemError
from comem.llm.openai_http import OpenAIChatClient
from comem.train.data.build import build_grpo_records
from comem.train.data.extractive import VIEWS
from comem.train.data.records import GrpoRecord, SftRecord, read_parquet
from comem.train.data.teacher import TeacherResult, checkpoint_path, teacher_summaries
from comem.trajectories.sources import load_recorded
from tests.extras import reason
from tests.train.data.helpers import OpenAIStandIn, write_run

pytest.importorskip("pyarrow", reason=reason("pyarrow", "train"))  # the teacher writes parquet


def digest(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]


def summary_for(request: dict[str, Any]) -> str:
    return f"Summary {digest(request['messages'][-1]['content'])}: the agent viewed files and ran tests."


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[GrpoRecord]:
    run = write_run(tmp_path_factory.mktemp("run"), {"alpha": 5, "beta": 5, "gamma": 4})
    return build_grpo_records(load_recorded(run), retain=0)


@pytest.fixture
def servers() -> Iterator[Any]:
    made: list[OpenAIStandIn] = []

    def make(responder: Any = summary_for, delay_s: float = 0.0) -> OpenAIStandIn:
        made.append(OpenAIStandIn(responder, delay_s=delay_s))
        return made[-1]

    yield make
    for server in made:
        server.close()


def run(records: list[GrpoRecord], server: OpenAIStandIn, out: Path, **kw: Any) -> TeacherResult:
    async def go() -> TeacherResult:
        client = OpenAIChatClient(server.url, "teacher-x", max_retries=0)
        try:
            return await teacher_summaries(records, client, out, **kw)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_summaries_become_sft_records_in_input_order(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    server = servers()
    out = tmp_path / "sft.parquet"
    result = run(records, server, out, max_tokens=77)
    written = read_parquet(out, SftRecord)
    assert written == result.records and [r.record_id for r in written] == [r.record_id for r in records]
    for rec, sft in zip(records, written, strict=True):
        assert sft.prompt == rec.prompt and sft.task_id == rec.task_id and sft.teacher_model == "teacher-x"
        assert sft.completion[0].role == "assistant"
        assert sft.completion[0].content == f"Summary {digest(rec.prompt[0].content)}: the agent viewed files and " \
                                            "ran tests."
    assert {r["max_tokens"] for r in server.requests} == {77}
    assert sorted(server.prompts()) == sorted(r.prompt[0].content for r in records)  # the memory prompt, unchanged


def test_concurrency_bound_is_respected(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    server = servers(delay_s=0.15)
    run(records, server, tmp_path / "sft.parquet", concurrency=3)
    assert len(records) > 3 and server.max_in_flight == 3


def test_resume_skips_finished_records(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    out = tmp_path / "sft.parquet"
    first = servers()
    run(records[:4], first, out)
    with checkpoint_path(out).open("a") as fh:  # a crash mid-write leaves a torn line behind
        fh.write('{"record_id": "torn')
    second = servers()
    result = run(records, second, out)
    assert sorted(second.prompts()) == sorted(r.prompt[0].content for r in records[4:])
    assert (result.report.skipped, result.report.finished, result.report.failed) == (4, len(records) - 4, 0)
    assert [r.record_id for r in read_parquet(out, SftRecord)] == [r.record_id for r in records]


def test_a_failing_record_is_counted_not_fatal(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    bad = records[1].prompt[0].content
    server = servers(lambda req: 400 if req["messages"][-1]["content"] == bad else summary_for(req))
    seen: list[str] = []
    result = run(records, server, tmp_path / "sft.parquet", on_error=lambda key, message: seen.append(key))
    assert result.report.failed == 1 and seen == [records[1].record_id]
    assert "400" in result.report.errors[0][1]
    assert records[1].record_id not in {r.record_id for r in read_parquet(tmp_path / "sft.parquet", SftRecord)}
    # a rerun retries exactly the failed record
    again = servers()
    run(records, again, tmp_path / "sft.parquet")
    assert again.prompts() == [bad]


def test_empty_summaries_and_total_failure(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    with pytest.raises(ComemError, match=r"Every teacher request failed \(3\).*empty summary"):
        run(records[:3], servers(lambda req: "   "), tmp_path / "sft.parquet")
    assert not (tmp_path / "sft.parquet").exists()


def test_a_checkpoint_from_other_options_is_refused(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    out = tmp_path / "sft.parquet"
    run(records[:2], servers(), out)
    changed = [r.model_copy(update={"prompt": [r.prompt[0].model_copy(update={"content": "other"})]})
               for r in records[:2]]
    with pytest.raises(ComemError, match="different prompt"):
        run(changed, servers(), out)


def by_temperature(request: dict[str, Any]) -> str:
    """Greedy requests get one summary; sampled ones a numbered other, so the candidates differ."""
    if request["temperature"] == 0:
        return "greedy summary"
    by_temperature.n = getattr(by_temperature, "n", 0) + 1  # type: ignore[attr-defined]
    return f"sampled summary {by_temperature.n}"  # type: ignore[attr-defined]


def test_best_of_samples_by_the_judge(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    server = servers(by_temperature)
    judged: list[tuple[str, str]] = []

    async def judge(record: GrpoRecord, summary: str) -> float:
        judged.append((record.record_id, summary))
        if record.record_id == records[0].record_id:
            return 3.0  # a tie among all three: the greedy one, written first, is kept
        return 7.0 if summary.startswith("sampled") else 2.0

    out = tmp_path / "sft.parquet"
    result = run(records[:3], server, out, samples=3, temperature=0.9, judge=judge, concurrency=1)
    assert [r["temperature"] for r in server.requests] == [0.0, 0.9, 0.9] * 3
    assert len(judged) == 9  # every candidate scored
    first, *others = result.records
    assert first.completion[0].content == "greedy summary" and first.reward == first.first_reward == 3.0
    assert all(r.scored == 3 for r in result.records)
    for sft in others:
        assert sft.completion[0].content.startswith("sampled summary") and sft.candidates == 3
        assert (sft.reward, sft.first_reward) == (7.0, 2.0)
    assert read_parquet(out, SftRecord) == result.records
    # min_reward leaves the tie out of the file and keeps it in the checkpoint: a rerun asks nothing
    again = servers()
    kept = run(records[:3], again, out, samples=3, temperature=0.9, judge=judge, min_reward=5.0)
    assert [r.record_id for r in kept.records] == [r.record_id for r in records[1:3]] and not again.requests
    assert [r.record_id for r in read_parquet(out, SftRecord)] == [r.record_id for r in records[1:3]]
    # a checkpoint written with other sampling settings is refused, not mixed in
    with pytest.raises(ComemError, match="3 candidate"):
        run(records[:3], servers(), out, samples=2, temperature=0.9, judge=judge)


def test_a_perfect_score_ends_the_record(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    """A finished summary at the maximum reward cannot lose (ties keep the first): nothing after it is asked for."""
    server = servers(by_temperature)
    judged: list[str] = []

    async def judge(record: GrpoRecord, summary: str) -> float:
        judged.append(summary)
        if record.record_id == records[0].record_id:
            return 10.0  # the greedy summary is perfect: no sample is drawn, no view scored
        return 10.0 if summary.startswith("sampled") else 6.0  # the first sample is perfect: the view is not scored

    result = run(records[:2], server, tmp_path / "sft.parquet", samples=3, temperature=0.9, extractive=["ledger"],
                 judge=judge, concurrency=1)
    assert [r["temperature"] for r in server.requests] == [0.0, 0.0, 0.9]
    assert judged[:2] == ["greedy summary"] * 2 and judged[2].startswith("sampled summary") and len(judged) == 3
    first, second = result.records
    assert (first.kept, first.reward, first.candidates, first.scored) == ("teacher:0", 10.0, 4, 1)
    assert (second.kept, second.reward, second.first_reward, second.scored) == ("teacher:1", 10.0, 6.0, 2)


def cut_when_greedy(request: dict[str, Any]) -> tuple[str, str]:
    """The greedy summary runs into max_tokens; sampled ones end on their own."""
    return ("greedy summary, cut", "length") if request["temperature"] == 0 else ("sampled summary", "stop")


def test_a_summary_cut_at_the_budget_is_no_target(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    async def judge(record: GrpoRecord, summary: str) -> float:
        return 9.0 if "cut" in summary else 4.0  # the cut one scores higher and still loses

    result = run(records[:2], servers(cut_when_greedy), tmp_path / "best.parquet", samples=2, temperature=0.9,
                 judge=judge)
    assert [(r.completion[0].content, r.finished, r.reward) for r in result.records] == \
        [("sampled summary", True, 4.0)] * 2 and result.cut == 0
    # one candidate per record, all cut: nothing to train on, said plainly; the checkpoint keeps them
    out = tmp_path / "cut.parquet"
    with pytest.raises(ComemError, match="Every summary reached the 64-token budget") as raised:
        run(records[:2], servers(cut_when_greedy), out, max_tokens=64)
    assert "--max-tokens" in raised.value.fix and len(checkpoint_path(out).read_text().splitlines()) == 2
    # a mix: the cut record is left out of the file and counted
    mixed = run(records[:3], servers(lambda req: ("one", "stop") if req["messages"][-1]["content"] ==
                                     records[2].prompt[-1].content else ("two", "length")), tmp_path / "m.parquet")
    assert [r.record_id for r in mixed.records] == [records[2].record_id] and mixed.cut == 2
    assert read_parquet(tmp_path / "m.parquet", SftRecord) == mixed.records


def test_extractive_views_compete_with_the_teacher(records: list[GrpoRecord], servers: Any, tmp_path: Path) -> None:
    judged: list[str] = []

    async def judge(record: GrpoRecord, summary: str) -> float:
        judged.append(summary)
        if record.record_id == records[0].record_id:
            return 5.0  # a tie: the teacher's summary, first, is kept
        return 8.0 if summary.startswith("Last steps") else 4.0

    out = tmp_path / "sft.parquet"
    result = run(records[:3], servers(), out, extractive=["ledger", "recent"], judge=judge, max_tokens=128)
    assert len(judged) == 9 and all(r.candidates == 3 for r in result.records)
    first, *others = result.records
    assert first.kept == "teacher:0" and first.completion[0].content.startswith("Summary ")
    for sft, rec in zip(others, records[1:3], strict=True):
        assert sft.kept == "recent" and (sft.reward, sft.first_reward, sft.finished) == (8.0, 4.0, True)
        assert sft.completion[0].content == VIEWS["recent"](rec, 128)
    assert read_parquet(out, SftRecord) == result.records
    with pytest.raises(ComemError, match="3 candidate"):  # the pool changed: refused, not mixed in
        run(records[:3], servers(), out, extractive=["ledger"], judge=judge)


def test_views_alone_need_no_teacher(records: list[GrpoRecord], tmp_path: Path) -> None:
    async def judge(record: GrpoRecord, summary: str) -> float:
        return 6.0 if summary.startswith("Last steps") else 7.0

    result = asyncio.run(teacher_summaries(records[:2], None, tmp_path / "sft.parquet", samples=0,
                                           extractive=["recent", "ledger"], judge=judge, max_tokens=128))
    for sft, rec in zip(result.records, records[:2], strict=True):
        assert (sft.kept, sft.reward, sft.first_reward, sft.candidates) == ("ledger", 7.0, None, 2)
        assert sft.completion[0].content == VIEWS["ledger"](rec, 128) and sft.teacher_model.startswith("none")


def test_one_view_alone_is_every_records_target_unscored(records: list[GrpoRecord], tmp_path: Path) -> None:
    """With one candidate there is nothing to choose: no agent is needed (docs/results.md §9.4)."""
    result = asyncio.run(teacher_summaries(records[:3], None, tmp_path / "sft.parquet", samples=0,
                                           extractive=["recent"], max_tokens=128))
    assert [r.completion[0].content for r in result.records] == [VIEWS["recent"](r, 128) for r in records[:3]]
    assert all((r.kept, r.reward, r.candidates) == ("recent", None, 1) for r in result.records)
    assert read_parquet(tmp_path / "sft.parquet", SftRecord) == result.records


async def never(record: GrpoRecord, summary: str) -> float:
    raise AssertionError("not called")


@pytest.mark.parametrize(("kw", "message"), [
    ({"samples": 3, "temperature": 0.8}, "need a judge"),
    ({"samples": 3, "judge": never}, "temperature above 0"),
    ({"min_reward": 5.0}, "there is no judge"),
    ({"extractive": ["ledger"]}, "no judge to choose"),
    ({"extractive": ["ledger", "gist"], "judge": never}, "unknown extractive view"),
    ({"samples": 0}, "nothing to choose from"),
    ({"samples": -1}, "samples at least 0"),
])
def test_sampling_settings_that_cannot_work_are_refused(records: list[GrpoRecord], servers: Any, tmp_path: Path,
                                                        kw: dict[str, Any], message: str) -> None:
    server = servers()
    with pytest.raises(ComemError, match=message):
        run(records[:2], server, tmp_path / "sft.parquet", **kw)
    assert not server.requests
