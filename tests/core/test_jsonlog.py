"""The one JSONL log: whole lines, torn tails, bad lines, and the resume check."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from comem.core.errors import ComemError
from comem.core.jsonlog import JsonlLog, append_jsonl, check_resume, cut_torn_tail, read_jsonl


class Row(BaseModel):
    key: str
    value: int = 0


def test_appended_rows_read_back_and_a_torn_tail_is_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "rows.jsonl"
    append_jsonl(path, [Row(key="a"), Row(key="b", value=2)])
    with path.open("ab") as fh:
        fh.write(b'{"key": "c", "va')  # a crash mid-write
    assert read_jsonl(path, Row) == [Row(key="a"), Row(key="b", value=2)]
    with JsonlLog(path) as log:
        log.append(Row(key="d"))
    assert [r.key for r in read_jsonl(path, Row)] == ["a", "b", "d"]
    assert path.read_bytes().endswith(b"\n")


def test_a_complete_bad_line_is_an_error_naming_the_line_or_skipped_on_request(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"key": "a"}\nnot json\n\xff\xfe\n{"key": "b"}\n')
    with pytest.raises(ComemError, match="rows.jsonl:2"):
        read_jsonl(path, Row)
    assert [r.key for r in read_jsonl(path, Row, on_bad="skip")] == ["a", "b"]
    assert read_jsonl(tmp_path / "missing.jsonl", Row) == []


def test_resume_refuses_changed_settings_and_merges_new_labels(tmp_path: Path) -> None:
    merged = check_resume(tmp_path, {"steps": 5, "new": 1}, {"steps": 5}, {"b": {"k": 2}}, {"a": {"k": 4}},
                          label_noun="arm")
    assert list(merged) == ["a", "b"]  # a setting added since then is no change; saved labels stay first
    with pytest.raises(ComemError, match="steps: 5 -> 6"):
        check_resume(tmp_path, {"steps": 6}, {"steps": 5})
    with pytest.raises(ComemError, match="arm 'a'"):
        check_resume(tmp_path, {}, {}, {"a": {"k": 2}}, {"a": {"k": 4}}, label_noun="arm")


def test_a_background_log_keeps_order_snapshots_records_and_is_complete_after_close(tmp_path: Path) -> None:
    path = tmp_path / "bg.jsonl"
    row = Row(key="x")
    log = JsonlLog(path, background=True)
    for i in range(200):
        row.value = i
        log.append(row)  # serialised now: the later changes to `row` are not what gets written
    log.close()
    assert [r.value for r in read_jsonl(path, Row)] == list(range(200))
    with pytest.raises(ValueError, match="closed"):
        log.append(row)


@pytest.mark.parametrize("chunk", [1, 4, 1 << 16])
def test_the_torn_tail_is_found_whatever_the_read_chunk(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "rows.jsonl"
    for tail, kept in [(b'{"key": "b", "va', b'{"key": "a"}\n'), (b"", b'{"key": "a"}\n')]:
        path.write_bytes(b'{"key": "a"}\n' + tail)
        cut_torn_tail(path, chunk=chunk)
        assert path.read_bytes() == kept
    path.write_bytes(b'{"key": "no newline at all"')
    cut_torn_tail(path, chunk=chunk)
    assert path.read_bytes() == b""
