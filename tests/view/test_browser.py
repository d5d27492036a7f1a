"""The viewer in a real headless browser (Debian's chromium driven by Playwright; nothing is downloaded): every
page type loads without console errors and is screenshotted (into docs/img/ with COMEM_SCREENSHOTS=1, which is
how the docs' pictures are refreshed; otherwise into the test's temporary directory); the timeline's bars sit
where their records say on one axis; clicking a step shows its context; lost identifiers are marked; a live session
refreshes itself; a damaged directory shows a notice; the export works from disk the same way."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.extras import requires

sync_api = requires("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM} "
                                                              "(apt-get install chromium)")

from comem.view.export import export_html  # noqa: E402
from comem.view.load import index_run, load_episode  # noqa: E402
from comem.view.marks import obs_chars, summary_marks  # noqa: E402
from comem.view.serve import ViewServer  # noqa: E402
from tests.view.helpers import TASK, live_session, replay_dir  # noqa: E402

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(real_run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ViewServer, Path]]:
    """The real run plus a live gateway-style session, served."""
    out = Path(shutil.copytree(real_run[0], tmp_path_factory.mktemp("site") / "run"))
    live_session(out, arm="kso", session="sess-1")
    with ViewServer(out) as server:
        yield server, out


class Page:
    """A browser tab that collects console errors and page exceptions."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> int | None:
        response = self.page.goto(url)
        return response.status if response else None


def distinct_colours(page, jpeg: bytes) -> int:
    """How many colours a screenshot has (sampled in the browser's own canvas): a blank page has one."""
    return page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size; }""", "data:image/jpeg;base64," + base64.b64encode(jpeg).decode())


def shoot(tab: Page, name: str, where: Path) -> None:
    shots = DOCS_IMG if os.environ.get("COMEM_SCREENSHOTS") == "1" else where
    shots.mkdir(parents=True, exist_ok=True)
    path = shots / f"view-{name}.jpg"
    shot = tab.page.screenshot(path=str(path), type="jpeg", quality=65)
    assert path.stat().st_size < 150_000 and distinct_colours(tab.page, shot) > 20, name


def test_every_page_type_loads_cleanly_and_is_screenshotted(browser, site, tmp_path: Path) -> None:
    server, _ = site
    replay = ViewServer(replay_dir(tmp_path / "replay"))
    tab = Page(browser)
    with replay:
        for name, url in [("run", server.url + "/"), ("episode", f"{server.url}/episode/kso/{TASK}"),
                          ("compare", f"{server.url}/compare/{TASK}/0/full/kso"),
                          ("session", f"{server.url}/episode/kso/sess-1"), ("replay", replay.url + "/")]:
            assert tab.open(url) == 200, name
            if name == "run":  # the report's figures are computed in the background; the page reloads with them
                tab.page.wait_for_selector("text=Success and cost", timeout=60_000)
            if name == "episode":
                tab.page.click("tr.step-row[data-step='4']")
                tab.page.locator(".context-panel").scroll_into_view_if_needed()
            shoot(tab, name, tmp_path / "shots")
    assert tab.errors == []


def test_timeline_bars_match_the_records_on_one_axis(browser, site) -> None:
    server, out = site
    data = load_episode(index_run(out).find("kso", TASK))
    tab = Page(browser)
    tab.open(f"{server.url}/episode/kso/{TASK}")
    bars = tab.page.eval_on_selector_all("svg.timeline .bar", """els => els.map(e => {
        const b = e.getBBox(); return {cls: e.getAttribute('class'), x: b.x, w: b.width,
        start: +e.dataset.start, end: +e.dataset.end, step: e.dataset.step, record: e.dataset.record}; })""")
    of = {kind: [b for b in bars if b["cls"].split()[1] == kind] for kind in ("agent", "tool", "memory", "install")}
    assert len(of["agent"]) == len(data.steps) and len(of["memory"]) == len(data.memory)
    assert len(of["tool"]) == sum(s.action is not None for s in data.steps)
    assert [b["start"] for b in of["agent"]] == pytest.approx([s.call_span[0] for s in data.steps], abs=1e-5)
    assert [b["start"] for b in of["memory"]] == pytest.approx([r.launched_s for r in data.memory], abs=1e-5)
    first, last = of["agent"][0], of["tool"][-1]
    scale = (last["x"] + last["w"] - first["x"]) / (last["end"] - first["start"])
    for bar in bars:  # one time axis for every lane: x is the same linear function of the recorded start
        centre = bar["x"] + bar["w"] / 2 if "install" in bar["cls"] else bar["x"]
        assert centre == pytest.approx(first["x"] + (bar["start"] - first["start"]) * scale, abs=1.0), bar
    assert tab.errors == []


def test_clicking_a_step_or_its_bar_shows_its_context(browser, site) -> None:
    server, out = site
    data = load_episode(index_run(out).find("kso", TASK))
    step = next(s for s in data.steps if s.summary_id is not None)
    summary = next(r for r in data.memory if r.id == step.summary_id).summary
    tab = Page(browser)
    tab.open(f"{server.url}/episode/kso/{TASK}")
    tab.page.click(f"tr.step-row[data-step='{step.index}']")
    panel = tab.page.locator(".context-panel")
    assert panel.locator(".msg").count() == step.context_messages
    assert summary in panel.locator(".msg.summary").inner_text() and "matches the recorded size" in panel.inner_text()
    tab.page.locator("svg.timeline rect.bar.agent[data-step='0']").click()
    assert panel.get_attribute("data-step") == "0" and panel.locator(".msg").count() == 2
    assert tab.errors == []


def test_a_summarys_lost_identifiers_are_marked(browser, site) -> None:
    server, out = site
    data = load_episode(index_run(out).find("kso", TASK))
    tab = Page(browser)
    tab.open(f"{server.url}/episode/kso/{TASK}")
    for record in (r for r in data.memory if r.status == "ok"):
        card = tab.page.locator(f".summary-card[data-record='{record.id}']")
        lost = sorted(card.locator(".ident.lost").all_inner_texts())
        assert lost == sorted(m.identifier for m in summary_marks(record, data.steps, obs_chars(data.strategy))
                              if not m.kept) and lost
        style = card.locator(".ident.lost").first.evaluate("e => getComputedStyle(e).textDecorationLine")
        assert style == "line-through"


def test_a_live_session_refreshes_as_steps_arrive(browser, site) -> None:
    server, out = site
    tab = Page(browser)
    tab.open(f"{server.url}/episode/kso/sess-1")
    assert "No result yet" in tab.page.locator(".notice.live").inner_text()
    assert tab.page.locator("tr.step-row").count() == 3
    path = out / "kso" / "trajectories" / "sess-1.jsonl"
    with path.open("ab") as fh:  # the torn line completes as step 3
        fh.write(b'ght": "t", "response": "r", "action": null, "observation": "o", "started_s": 3, '
                 b'"finished_s": 3.2}\n')
    tab.page.wait_for_function("document.querySelectorAll('tr.step-row').length === 4", timeout=15_000)
    assert tab.errors == []


def test_a_damaged_directory_shows_a_notice(browser, real_run, tmp_path: Path) -> None:
    out = Path(shutil.copytree(real_run[0], tmp_path / "damaged"))
    results = out / "kso" / "results.jsonl"
    results.write_bytes(results.read_bytes()[:-25])
    with ViewServer(out) as server:
        tab = Page(browser)
        assert tab.open(server.url + "/") == 200
        assert "incomplete" in tab.page.locator(".notice").first.inner_text()
        assert tab.open(f"{server.url}/episode/kso/{TASK}") == 200
        assert tab.page.locator(".notice").count() >= 1 and tab.errors == []


def test_the_export_opens_from_disk_and_shows_the_same(browser, real_run, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    export_html(real_run[0], out)
    data = load_episode(index_run(real_run[0]).find("kso", TASK))
    tab = Page(browser)
    tab.open(out.as_uri())
    assert tab.page.locator("section.page:not([hidden]) table.grid").count() == 1
    tab.page.click(f"section.page:not([hidden]) a[href='#/episode/kso/{TASK}']")
    shown = f"section.page[data-path='/episode/kso/{TASK}']:not([hidden])"
    tab.page.wait_for_selector(shown)  # the link switches pages on the hash change, a moment after the click
    episode = tab.page.locator(shown)
    assert episode.locator("svg.timeline rect.bar.agent").count() == len(data.steps)
    episode.locator("tr.step-row[data-step='3']").click()
    assert episode.locator(".context-panel .msg").count() == data.steps[3].context_messages
    assert episode.locator(".ident.lost").count() > 0
    tab.page.go_back()
    assert tab.page.locator("section.page:not([hidden])").get_attribute("data-path") == "/"
    assert tab.errors == []
