"""OutputCapture keeps memory bounded and the observation short, whatever a command prints."""

from __future__ import annotations

from comem.environment.output import MAX_LINE_CHARS, OutputCapture


def test_short_output_is_kept_whole() -> None:
    capture = OutputCapture(1000)
    capture.feed(b"one\ntwo\n")
    assert capture.render(80) == "one\ntwo"


def test_many_lines_keep_first_and_last_halves() -> None:
    capture = OutputCapture(1_000_000)
    capture.feed("".join(f"line {i}\n" for i in range(1000)).encode())
    lines = capture.render(80).split("\n")
    assert len(lines) == 81
    assert lines[0] == "line 0" and lines[39] == "line 39"
    assert lines[40] == "<Observation truncated in middle for saving context: 920 lines omitted>"
    assert lines[41] == "line 960" and lines[-1] == "line 999"


def test_flood_keeps_only_head_and_tail_bytes() -> None:
    capture = OutputCapture(1000)
    chunk = b"x" * 9 + b"\n"
    for _ in range(100_000):  # 1 MB through a 1 kB capture
        capture.feed(chunk)
    assert capture.dropped_bytes == 1_000_000 - 1000
    assert capture.total_lines == 100_000
    lines = capture.render(80).split("\n")
    assert len(lines) == 81
    assert "99920 lines omitted" in lines[40]


def test_end_of_output_survives_a_flood() -> None:
    capture = OutputCapture(1000)
    capture.feed(b"start\n" + b"noise\n" * 10_000 + b"=== 3 passed ===\n")
    assert capture.render(80).endswith("=== 3 passed ===")


def test_invalid_utf8_and_long_lines_are_made_safe() -> None:
    capture = OutputCapture(1_000_000)
    capture.feed(b"\xff\xfe ok\n" + b"y" * 10_000)
    first, second = capture.render(80).split("\n")
    assert first == "\ufffd\ufffd ok"
    assert second.startswith("y" * MAX_LINE_CHARS) and "8000 more characters" in second


def test_long_lines_are_cut_to_a_character_budget_with_a_way_to_see_more() -> None:
    """80 lines of 2,000 characters would be 160,000 characters (40,000 tokens) in one observation."""
    capture = OutputCapture(1_000_000)
    capture.feed("".join(f"{i:02} " + "y" * 1990 + "\n" for i in range(80)).encode())
    out = capture.render(80, max_chars=8000)
    assert len(out) < 8300 and out.startswith("00 ") and out.endswith("y")
    assert "characters omitted. To see them, write the output to a file" in out
