"""Reading a directory tolerantly: a real run, a live gateway-style session, torn and garbage lines, a results
line without its trajectory, a symlink out of the directory, and directories that are none of the layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from comem.core.errors import ComemError
from comem.view.load import index_run, kind_of, load_episode, stamp
from tests.view.helpers import TASK, live_session, symlink_out


def test_a_real_run_is_indexed_with_its_results_and_loaded_whole(real_run) -> None:
    out, agents = real_run
    index = index_run(out)
    assert kind_of(out) == "run" and index.arms == list(agents) and index.notices == []
    assert [(e.arm, e.task, e.seed, e.live) for e in index.episodes] == [(a, TASK, 0, False) for a in agents]
    data = load_episode(index.find("kso", TASK))
    assert data.notices == [] and not data.live and data.end.resolved is True
    assert len(data.steps) == data.end.steps == len(agents["kso"].requests)
    assert {r.status for r in data.memory} >= {"ok"} and data.start.config["strategy"]["k"] == 2


def test_a_live_session_with_a_torn_tail_is_shown_with_notices(run_copy) -> None:
    out = run_copy()
    path = live_session(out, arm="gateway", session="sess-1")
    index = index_run(out)
    ref = index.find("gateway", "sess-1")
    assert ref.live and ref.task == "sess-1" and "gateway" in index.arms
    data = load_episode(ref)
    assert data.live and [s.index for s in data.steps] == [0, 1, 2]
    assert any("still being written" in n for n in data.notices)
    assert any(n.startswith("No result yet") for n in data.notices)
    before = stamp(path)
    with path.open("ab") as fh:
        fh.write(b'ght": "x"}\n')  # the torn line completes (as garbage): the page's stamp changes
    assert stamp(path) != before
    assert any("not a valid record" in n for n in load_episode(ref).notices)


def test_damaged_results_and_trajectories_become_notices(run_copy) -> None:
    out = run_copy()
    results = out / "kso" / "results.jsonl"
    results.write_bytes(results.read_bytes() + b"not json\n" + b'{"type": "episode_end", "inst')
    trajectory = out / "full" / "trajectories" / f"{TASK}.jsonl"
    lines = trajectory.read_bytes().split(b"\n")
    trajectory.write_bytes(b"\n".join(lines[1:4]) + b'\n{"type": "alien"}\n\xff\xfe\n')  # no start line
    (out / "mask" / "trajectories" / f"{TASK}.jsonl").unlink()
    index = index_run(out)
    assert any("incomplete" in n for n in index.notices) and any("1 line of kso" in n for n in index.notices)
    full = load_episode(index.find("full", TASK))
    assert len(full.steps) == 3 and full.start is None
    assert any("2 lines" in n for n in full.notices) and any("no episode start" in n for n in full.notices)
    mask = load_episode(index.find("mask", TASK))
    assert mask.steps == [] and mask.end is not None and "missing" in mask.notices[0]


def test_a_symlink_out_of_the_directory_is_not_indexed(run_copy, tmp_path: Path) -> None:
    out = run_copy()
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"type": "episode_start"}\n')
    symlink_out(out, secret)
    index = index_run(out)
    assert index.find("full", "evil") is None and any("points outside" in n for n in index.notices)


def test_a_directory_of_no_known_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="is not a directory"):
        kind_of(tmp_path / "nope")
    (tmp_path / "notes").mkdir()
    with pytest.raises(ComemError, match="holds no run, replay or gateway sessions"):
        kind_of(tmp_path)
    (tmp_path / "runs.jsonl").write_text("")
    assert kind_of(tmp_path) == "replay"
