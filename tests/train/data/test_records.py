"""Training records survive parquet unchanged, read back in the shape TRL expects, and bad files are one error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from comem.bench.replay.sample import sample_trajectories
from comem.core.errors import ComemError
from comem.core.jsonlog import read_jsonl
from comem.train.data.build import build_grpo_records
from comem.train.data.records import ChatTurn, GrpoRecord, SftRecord, read_parquet, write_parquet
from tests.extras import needs, requires

parquet = needs("pyarrow", extra="train")


@pytest.fixture(scope="module")
def records() -> list[GrpoRecord]:
    return build_grpo_records(sample_trajectories(n=1, steps=5), retain="random:0-2", source="sample")


def sft_of(records: list[GrpoRecord]) -> list[SftRecord]:
    return [SftRecord(record_id=r.record_id, task_id=r.task_id, prompt=r.prompt,
                      completion=[ChatTurn(role="assistant", content=f"summary of {r.record_id} — ünïcode")],
                      teacher_model="teacher") for r in records]


@parquet
def test_grpo_and_sft_records_round_trip(records: list[GrpoRecord], tmp_path: Path) -> None:
    write_parquet(tmp_path / "grpo.parquet", records, GrpoRecord)
    write_parquet(tmp_path / "sft.parquet", sft_of(records), SftRecord)
    assert read_parquet(tmp_path / "grpo.parquet", GrpoRecord) == records
    assert read_parquet(tmp_path / "sft.parquet", SftRecord) == sft_of(records)
    back = read_parquet(tmp_path / "grpo.parquet", GrpoRecord)[0]
    assert back.raw() == records[0].raw() and back.reference() == records[0].reference()


@parquet
def test_columns_are_the_documented_contract(records: list[GrpoRecord], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_parquet(tmp_path / "grpo.parquet", records, GrpoRecord)
    schema = pq.read_schema(tmp_path / "grpo.parquet")
    assert schema.names == ["record_id", "task_id", "source", "target_step", "retain", "covered", "prompt",
                            "system_prompt", "task_prompt", "raw_steps", "last_observation", "reference_action",
                            "variant", "history"]
    assert schema.field("covered").type == pa.int64()
    assert schema.field("prompt").type == pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


@parquet
def test_datasets_reads_conversational_prompts(records: list[GrpoRecord], tmp_path: Path) -> None:
    datasets = requires("datasets")
    write_parquet(tmp_path / "sft.parquet", sft_of(records), SftRecord)
    row = datasets.Dataset.from_parquet(str(tmp_path / "sft.parquet"))[0]
    assert row["prompt"] == [{"role": "user", "content": records[0].prompt[0].content}]
    assert row["completion"][0]["role"] == "assistant"


@parquet
def test_empty_list_writes_the_full_schema(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    write_parquet(tmp_path / "empty.parquet", [], GrpoRecord)
    assert read_parquet(tmp_path / "empty.parquet", GrpoRecord) == []
    assert "reference_action" in pq.read_schema(tmp_path / "empty.parquet").names


@parquet
def test_bad_files_are_one_clear_error(records: list[GrpoRecord], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pytest.raises(ComemError, match="does not exist"):
        read_parquet(tmp_path / "missing.parquet", GrpoRecord)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ComemError, match="not a readable parquet file"):
        read_parquet(tmp_path / "junk.parquet", GrpoRecord)
    write_parquet(tmp_path / "sft.parquet", sft_of(records), SftRecord)
    with pytest.raises(ComemError, match="lacks the column"):
        read_parquet(tmp_path / "sft.parquet", GrpoRecord)
    table = pa.Table.from_pylist([{**records[0].model_dump(mode="json"), "covered": 0}])
    pq.write_table(table, tmp_path / "bad-row.parquet")
    with pytest.raises(ComemError, match="row 0 is malformed.*covered"):
        read_parquet(tmp_path / "bad-row.parquet", GrpoRecord)
    broken = records[0].model_copy(update={"raw_steps": "{not json"})
    with pytest.raises(ComemError, match="raw_steps is not a list of steps"):
        broken.raw()


def test_missing_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an uninstalled package looks like to import
    with pytest.raises(ComemError) as exc:
        write_parquet(tmp_path / "x.parquet", [], GrpoRecord)
    assert "pip install 'comem[train]'" in exc.value.fix


def test_checkpoint_reader_skips_only_a_torn_last_line(records: list[GrpoRecord], tmp_path: Path) -> None:
    rows = sft_of(records)[:2]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows) + rows[0].model_dump_json()[:30])
    assert read_jsonl(path, SftRecord) == rows
    path.write_text("garbage\n" + rows[0].model_dump_json() + "\n")
    with pytest.raises(ComemError, match="c.jsonl:1"):
        read_jsonl(path, SftRecord)
