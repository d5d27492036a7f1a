"""Identifier extraction (golden cases per category) and retention scoring of memory updates."""

from __future__ import annotations

import pytest

from comem.core.records import MemoryRecord, Step, ToolCall
from comem.report.retention import (
    commands,
    errors,
    extract,
    is_retained,
    names,
    numbers,
    paths,
    score_update,
    shown_memory,
    urls,
    view_memories,
)

PYTEST_OUTPUT = """\
============================= test session starts ==============================
collected 12 items

tests/test_version.py ..F.                                               [ 33%]
E       AssertionError: assert '1.3.0' == '1.2.1'
semverlite/version.py:42: AssertionError
=========================== short test summary info ============================
FAILED tests/test_version.py::test_bump_minor - AssertionError: assert '1.3.0' == '1.2.1'
ERROR tests/test_parsing.py
ValueError: invalid version '1.x'
========================= 1 failed, 11 passed in 0.31s ========================="""


@pytest.mark.parametrize(("text", "expected"), [
    ("open ./semverlite/version.py, then README.md.", {"semverlite/version.py", "README.md"}),
    ("/tmp/ws/repo/a.py:12: in f", {"/tmp/ws/repo/a.py"}),
    ("see tests/ and src/pkg", {"src/pkg"}),
    ("https://example.com/x/y.html and v1.2.3 and Version.parse and e.g. 3.14", set()),
    ("setup.cfg pyproject.toml Makefile", {"setup.cfg", "pyproject.toml"}),
])
def test_paths(text: str, expected: set[str]) -> None:
    assert paths(text) == expected


@pytest.mark.parametrize(("command", "expected"), [
    ("cd repo && python -m pytest tests/test_x.py -q | tail -5", {"cd", "python", "tail"}),
    ("FOO=1 sudo /usr/bin/grep -rn 'x' . ; ls -la", {"grep", "ls"}),
    ("(cat a.txt || echo missing) & wait", {"cat", "echo", "wait"}),
    ("for f in *.py; do wc -l $f; done", {"wc"}),
    ("if grep -q x a.py; then echo yes; fi", {"grep", "echo"}),
])
def test_commands(command: str, expected: set[str]) -> None:
    assert commands(command) == expected


def test_errors_numbers_and_names_golden() -> None:
    assert errors(PYTEST_OUTPUT) == {"AssertionError", "tests/test_version.py::test_bump_minor",
                                     "tests/test_parsing.py", "ValueError"}
    assert numbers(PYTEST_OUTPUT) == {"1.3.0", "1.2.1", "42", "12", "33", "11"}  # not 0.31s: glued to "s"
    assert names("call `Version.bump_minor()` not `bump` or ```code``` or `two words`") == {
        "Version.bump_minor", "bump"}


def test_urls_golden() -> None:
    text = ("1. Marrowford Swing Bridge - https://wiki.orrin.example/Marrowford_Swing_Bridge\n"
            "Engineer: [Oskar Brandell](https://wiki.orrin.example/Oskar_Brandell). See http://a.example/x?q=1, "
            "or 'https://b.example/y'. Not ftp://c.example or wiki.orrin.example/page")
    assert urls(text) == {"https://wiki.orrin.example/Marrowford_Swing_Bridge",
                          "https://wiki.orrin.example/Oskar_Brandell", "http://a.example/x?q=1", "https://b.example/y"}
    assert is_retained("urls", "https://wiki.orrin.example/Oskar_Brandell",
                       "pages: https://wiki.orrin.example/Oskar_Brandell (found at step 1)")
    assert not is_retained("urls", "https://wiki.orrin.example/Oskar", "https://wiki.orrin.example/Oskar_Brandell")


def test_retention_rules() -> None:
    summary = "Edited version.py (`bump_minor`); test_bump_minor still fails with AssertionError; ran pytest 42x."
    assert is_retained("paths", "semverlite/version.py", summary)
    assert not is_retained("paths", "semverlite/parsing.py", summary)
    assert is_retained("errors", "tests/test_version.py::test_bump_minor", summary)
    assert is_retained("errors", "AssertionError", summary) and not is_retained("errors", "ValueError", summary)
    assert is_retained("names", "Version.bump_minor", summary)
    assert not is_retained("numbers", "4", summary) and not is_retained("numbers", "42", summary)  # 42x is a word
    assert is_retained("commands", "pytest", summary) and not is_retained("commands", "py", summary)


def test_score_of_an_update_covers_only_its_span_as_the_memory_model_saw_it() -> None:
    steps = [
        Step(index=0, thought="List files.", response="", action=ToolCall(name="bash", arguments={"command": "ls"}),
             observation="semverlite/\ntests/\nsetup.py"),
        Step(index=1, thought="Run the tests for `bump_minor`.", response="",
             action=ToolCall(name="bash", arguments={"command": "python -m pytest -q"}), observation=PYTEST_OUTPUT),
        Step(index=2, thought="Never summarised.", response="",
             action=ToolCall(name="bash", arguments={"command": "git diff"}), observation="other.py 777"),
    ]
    record = MemoryRecord(id=3, strategy="kso", mode="from_scratch", covers=(0, 2), launch_step=2, status="ok",
                          summary="Ran ls and python; test_bump_minor fails (AssertionError: 1.3.0) in "
                                  "semverlite/version.py; `bump_minor` is the culprit.")
    scored = score_update(record, steps, obs_chars=4000)
    assert scored.found == {"paths": 4, "urls": 0, "commands": 2, "errors": 4, "numbers": 6, "names": 1}
    assert scored.kept == {"paths": 1, "urls": 0, "commands": 2, "errors": 2, "numbers": 1, "names": 1}
    assert scored.missing["paths"] == ["setup.py", "tests/test_parsing.py", "tests/test_version.py"]
    assert "git" not in extract(steps[:2])["commands"] and "777" not in extract(steps[:2])["numbers"]
    assert scored.score == pytest.approx(7 / 17) and scored.category_score("names") == 1.0
    clipped = score_update(record, steps, obs_chars=40)  # the memory model saw only head and tail of the output
    assert clipped.found["errors"] < scored.found["errors"]


def test_each_view_of_the_same_update() -> None:
    """The ledger is extracted from the span, so the identifiers a summary dropped are still in `ledger` and
    `both`; what an arm showed (summary and/or its recorded ledger) is what its own retention scores."""
    steps = [
        Step(index=0, thought="Run the tests.", response="",
             action=ToolCall(name="bash", arguments={"command": "python -m pytest -q"}),
             observation="Exit code: 1\nExecution output of [bash]:\n" + PYTEST_OUTPUT),
        Step(index=1, thought="Look at the code.", response="",
             action=ToolCall(name="file_editor", arguments={"command": "view", "path": "semverlite/version.py"}),
             observation="Execution output of [file_editor]:\nHere's the result of running `cat -n` on "
                         "semverlite/version.py:\n     1\tVERSION = 1"),
    ]
    record = MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 2), launch_step=2, status="ok",
                          summary="The tests fail.")
    views = view_memories(record, steps, task="Fix `bump_minor`.", ledger_tokens=512)
    assert views["summary"] == "The tests fail." and views["both"] == "The tests fail.\n" + views["ledger"]
    scores = {view: score_update(record, steps, 4000, memory) for view, memory in views.items()}
    for category in ("paths", "commands", "errors"):
        assert scores["summary"].category_score(category) == 0.0
        assert scores["ledger"].category_score(category) == scores["both"].category_score(category) == 1.0
    shown = record.model_copy(update={"ledger": views["ledger"]})  # an arm with memory_view: both
    assert shown_memory(shown) == views["both"] and score_update(shown, steps, 4000) == scores["both"]
    assert view_memories(shown, steps, task="", ledger_tokens=16)["ledger"] == views["ledger"]  # as recorded
