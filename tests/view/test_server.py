"""The viewer served on loopback and read with a real HTTP client: every page, damaged directories (a notice,
never a 500), requests for files outside the directory, the API key, and a live episode's stamp."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from comem.core.config import is_loopback
from comem.core.errors import ComemError
from comem.view.serve import ViewServer, bind
from tests.view.helpers import TASK, live_session, replay_dir, symlink_out

PAGES = ["/", f"/episode/full/{TASK}", f"/episode/kso/{TASK}", f"/episode/mask/{TASK}",
         f"/compare/{TASK}/0/full/kso", f"/compare/{TASK}/0/kso/mask"]


def get(server: ViewServer, path: str, **kwargs) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30, **kwargs)


def overview(server: ViewServer) -> httpx.Response:
    """The run page once its report (computed in the background) is ready: the first request starts it."""
    first = get(server, "/")
    deadline = time.monotonic() + 60
    while get(server, "/report-stamp").json()["stamp"] != "ready":
        assert time.monotonic() < deadline, "the report never finished"
        time.sleep(0.05)
    assert first.status_code == 200
    return get(server, "/")


def test_every_page_of_a_real_run(real_run) -> None:
    with ViewServer(real_run[0]) as server:
        pages = {path: get(server, path) for path in PAGES}
        pages["/"] = overview(server)
    assert {p: r.status_code for p, r in pages.items()} == dict.fromkeys(PAGES, 200)
    assert "semver-bump-minor" in pages["/"].text and "Identifier retention" in pages["/"].text
    episode = pages[f"/episode/kso/{TASK}"].text
    assert 'class="bar memory"' in episode and "ident lost" in episode and "ctx-data" in episode
    assert 'class="badge resolved"' in episode and '<span class="add">+' in episode  # verdict and patch
    assert "http://" not in episode.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_damaged_directories_render_with_notices_never_a_500(run_copy) -> None:
    out = run_copy()
    live_session(out, arm="kso", session="sess-1")
    (out / "full" / "results.jsonl").write_bytes(b"\xff garbage\n{\"type\": \"episode_end\", \"instance")
    trajectory = out / "kso" / "trajectories" / f"{TASK}.jsonl"
    trajectory.write_bytes(trajectory.read_bytes()[:-40])  # the end line cut by a crash
    (out / "mask" / "results.jsonl").unlink()  # the trajectory stays: an episode stopped before its result
    (out / "config.yaml").write_text(": not yaml : [")
    with ViewServer(out) as server:
        pages = {path: get(server, path) for path in [*PAGES, "/episode/kso/sess-1"]}
    assert {p: r.status_code for p, r in pages.items()} == {**dict.fromkeys(PAGES, 200), "/episode/kso/sess-1": 200}
    assert "incomplete" in pages["/"].text and "no result yet" in pages["/"].text
    live = pages["/episode/kso/sess-1"].text
    assert "No result yet" in live and "data-stamp-url" in live
    assert "still being written" in pages[f"/episode/kso/{TASK}"].text


def test_a_run_whose_report_cannot_be_computed_still_shows_its_grid(run_copy) -> None:
    out = run_copy()
    trajectory = out / "kso" / "trajectories" / f"{TASK}.jsonl"
    trajectory.write_bytes(trajectory.read_bytes() + b'{"type": "alien"}\n')  # the report's reader raises on it
    with ViewServer(out) as server:
        page = overview(server)
    assert page.status_code == 200 and "could not be computed" in page.text and "semver-bump-minor" in page.text


def test_nothing_outside_the_directory_is_served(run_copy, tmp_path: Path) -> None:
    out = run_copy()
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"type":"episode_start","instance_id":"SECRET","strategy":"x","system_prompt":"s",'
                      '"task_prompt":"t"}\n')
    symlink_out(out, secret)
    shutil.copy(secret, out / "secret.jsonl")  # a JSONL file in the root is not a page either
    attempts = ["/episode/full/evil", "/episode/..%2F..%2F..%2Fetc/passwd", "/episode/full/..%2F..%2Fsecret",
                "/episode/%2E%2E/secret", "/../../etc/passwd", "/static/../../secret.jsonl", "/secret.jsonl",
                "/compare/..%2Fsecret/0/full/kso", "/episode/full/trajectories%2F..%2F..%2Fsecret"]
    with ViewServer(out) as server:
        responses = {a: get(server, a) for a in attempts}
    for attempt, response in responses.items():
        assert response.status_code == 404, attempt
        assert "SECRET" not in response.text and "root:" not in response.text, attempt


def test_a_key_is_needed_on_every_request_when_given(real_run) -> None:
    with ViewServer(real_run[0], api_key="s3cret") as server:
        assert get(server, "/").status_code == 401
        assert get(server, f"/episode/kso/{TASK}", headers={"X-API-Key": "wrong"}).status_code == 401
        assert get(server, "/", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert get(server, "/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            assert browser.get("/?key=s3cret").status_code == 200
            assert browser.get(f"/episode/kso/{TASK}").status_code == 200  # the cookie carries it


def test_other_hosts_need_a_key_and_a_busy_port_is_named() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    with pytest.raises(ComemError, match="without an API key"):
        ViewServer(Path("."), host="0.0.0.0")
    taken = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ComemError, match="Cannot listen"):
            bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def test_a_live_episodes_stamp_changes_as_lines_arrive(run_copy) -> None:
    out = run_copy()
    path = live_session(out, arm="kso", session="sess-2")
    with ViewServer(out) as server:
        first = get(server, "/stamp/kso/sess-2").json()["stamp"]
        with path.open("ab") as fh:
            fh.write(b'ght": "x"}\n')
        assert get(server, "/stamp/kso/sess-2").json()["stamp"] != first
        assert get(server, "/stamp/kso/nope").status_code == 404


def test_a_replay_directory(tmp_path: Path) -> None:
    out = replay_dir(tmp_path / "replay")
    with ViewServer(out) as server:
        overview, other = get(server, "/"), get(server, "/replay/full/1/0/0")
        missing = get(server, "/replay/nope/1/0/0")
    assert overview.status_code == other.status_code == 200 and missing.status_code == 404
    assert "kso-k2" in overview.text and 'class="bar memory"' in overview.text and "x step" in overview.text
    assert overview.text.count('class="bar agent"') == 6


def test_the_run_page_shows_its_grid_before_the_report_is_ready(real_run) -> None:
    with ViewServer(real_run[0]) as server:
        first = get(server, "/")
        assert first.status_code == 200 and "semver-bump-minor" in first.text
        assert "being computed" in first.text and "data-stamp-url" in first.text  # the first request starts it
        assert "Identifier retention" in overview(server).text
