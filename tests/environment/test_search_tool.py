"""search: literal matching, skipping of hidden/binary files, the match cap, and single files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comem.environment.workspace import Workspace
from tests.environment.helpers import Call

HEADER = "Execution output of [search]:\n"


def search(call: Call, **args: object) -> str:
    result = call("search", **args)
    assert result.output.startswith(HEADER)
    return result.output[len(HEADER) :]


def test_literal_matches_with_path_and_line(call: Call) -> None:
    out = search(call, search_term="return a")
    assert out.split("\n") == [
        "Found 2 matches for 'return a' in .:",
        "pkg/mod.py:2: return a + b",
        "pkg/mod.py:6: return a - b",
    ]


def test_regex_characters_are_literal(call: Call, workspace: Workspace) -> None:
    (workspace.root / "r.py").write_text("x = a.b(c)\ny = aXb(c)\n")
    assert search(call, search_term="a.b(c)").split("\n")[1:] == ["r.py:1: x = a.b(c)"]


def test_hidden_pycache_and_binary_files_are_skipped(call: Call, workspace: Workspace) -> None:
    (workspace.root / ".hidden").mkdir()
    (workspace.root / ".hidden" / "f.py").write_text("needle\n")
    (workspace.root / "pkg" / "__pycache__").mkdir()
    (workspace.root / "pkg" / "__pycache__" / "f.py").write_text("needle\n")
    (workspace.root / "blob.bin").write_bytes(b"\0needle\n")
    (workspace.root / "ok.txt").write_text("a needle here\n")
    assert search(call, search_term="needle").split("\n")[1:] == ["ok.txt:1: a needle here"]


def test_match_cap(call: Call, workspace: Workspace) -> None:
    (workspace.root / "many.txt").write_text("hit\n" * 150)
    lines = search(call, search_term="hit").split("\n")
    assert lines[0].startswith("More than 100 matches") and len(lines) == 101


def test_search_one_file_and_no_match(call: Call) -> None:
    assert search(call, search_term="proj", path="README.md").split("\n")[1:] == ["README.md:1: # proj"]
    assert search(call, search_term="zzz", path="pkg") == "No matches found for 'zzz' in pkg."


def test_errors(call: Call) -> None:
    assert "does not exist" in search(call, search_term="x", path="nope")
    assert "outside the repository" in search(call, search_term="x", path="..")
    assert "Missing required argument `search_term`" in search(call)


@pytest.mark.timeout(30)  # before the fix, reading the FIFO blocked the search for good
def test_fifos_and_hard_links_are_skipped(call: Call, workspace: Workspace, tmp_path: Path) -> None:
    os.mkfifo(workspace.root / "pkg" / "pipe")
    (tmp_path / "outside.py").write_text("return a secret\n")
    os.link(tmp_path / "outside.py", workspace.root / "pkg" / "linked.py")
    assert search(call, search_term="return a").startswith("Found 2 matches")
    assert "is a FIFO" in search(call, search_term="x", path="pkg/pipe")


def test_a_qualified_name_falls_back_to_its_last_part(call: Call, workspace: Workspace) -> None:
    (workspace.root / "semver.py").write_text("class Version:\n    def bump_minor(self):\n        return 1\n")
    # the 1.5B searched `Version.bump_minor` three times, found nothing and rewrote code it never saw
    out = search(call, search_term="Version.bump_minor")
    assert out.split("\n") == [
        "No matches found for 'Version.bump_minor' in .. Code rarely spells out a qualified name, so here is its "
        "last part instead.",
        "Found 1 match for 'bump_minor' in .:",
        "semver.py:2: def bump_minor(self):",
    ]
    assert "'bump_minor'" in search(call, search_term="semver.Version.bump_minor()")
    # a dotted term that is found is literal as before; other misses stay plain misses
    assert search(call, search_term="a.b(c)") == "No matches found for 'a.b(c)' in .."
    assert search(call, search_term="nothing.here") == "No matches found for 'nothing.here' in .."
