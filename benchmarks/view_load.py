"""Page-load times of `comem view` on a large synthetic run: `python benchmarks/view_load.py [DIR]`.

Writes (once) a run directory with the real writers: 250 tasks x 2 arms (full, kso k=2) of 20 steps each, one
of which runs 300 steps (500 episodes in all), ~1.5 kB observations, a memory call every two steps in kso. Then
serves it on loopback and times each page type over HTTP (server time + transfer; median of 5 after one cold
load), in headless chromium when it is installed (navigation to the load event), and the export. The report's
figures are computed once in the background first (timed too).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeStart, MemoryRecord, Step, ToolCall
from comem.eval.episode import episode_end
from comem.eval.results import EpisodeResult, ResultsFile, trajectory_path
from comem.view.export import export_html
from comem.view.serve import ViewServer

TASKS, STEPS, LONG = 250, 20, 300
OBSERVATION = "\n".join(f"src/pkg/module_{i}.py:{10 * i}: def handler_{i}(request): return process(request)"
                        for i in range(20))


def write_episode(run: Path, arm: str, task: str, steps: int) -> None:
    memory_arm = arm == "kso"
    records: list = []
    memory: list[MemoryRecord] = []
    installed: MemoryRecord | None = None
    t = 0.0
    for i in range(steps):
        if memory_arm and i >= 3 and i % 2 == 1:  # launched at i - 2, installed now
            installed = MemoryRecord(id=len(memory), strategy="kso", mode="from_scratch", covers=(0, i - 2),
                                     launch_step=i - 2, status="ok", installed_step=i, launched_s=t - 2.0,
                                     finished_s=t - 0.2, summary=f"Edited src/pkg/module_{i}.py; tests fail.",
                                     summary_tokens=40, covered_tokens_est=400 * i)
            memory.append(installed)
            records.append(installed)
        command = f"grep -n handler_{i} src/pkg/module_{i}.py"
        raw = i if installed is None else i - installed.covers[1]
        step = Step(index=i, thought=f"Look at module {i}.", response=f'{{"name": "bash", "arguments": '
                    f'{{"command": "{command}"}}}}', action=ToolCall(name="bash", arguments={"command": command}),
                    observation=OBSERVATION, prompt_tokens=600 + 400 * raw,
                    completion_tokens=40, agent_ttft_s=0.2, agent_total_s=0.8, tool_s=0.3, started_s=t,
                    finished_s=t + 1.1, summary_id=installed.id if installed else None,
                    raw_from=installed.covers[1] if installed else 0)
        records.append(step)
        t += 1.1
    steps_only = [r for r in records if isinstance(r, Step)]
    with JsonlLog(trajectory_path(run / arm, task, 0)) as log:
        log.append(EpisodeStart(instance_id=task, strategy=arm, system_prompt="You are an agent." * 50,
                                task_prompt="Fix the bug." * 50,
                                config={"strategy": {"name": "kso", "k": 2} if memory_arm else {"name": "full"}}),
                   *records)
    end = episode_end(task, arm, "submitted", steps_only, memory, wall_s=t, resolved=hash(task) % 2 == 0)
    ResultsFile(run / arm / "results.jsonl").append(EpisodeResult(**end.model_dump()))


def make_run(run: Path) -> Path:
    if (run / "kso" / "results.jsonl").is_file():
        return run
    for arm in ("full", "kso"):
        for n in range(TASKS):
            write_episode(run, arm, f"task-{n:03d}", LONG if n == 0 else STEPS)
    return run


def timed_get(url: str, repeats: int = 5) -> tuple[float, float, int]:
    """(cold seconds, median warm seconds, bytes)."""
    with httpx.Client(timeout=120) as client:
        start = time.perf_counter()
        body = client.get(url).raise_for_status().content
        cold = time.perf_counter() - start
        warm = []
        for _ in range(repeats):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm), len(body)


def browser_load(urls: dict[str, str]) -> dict[str, float]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not Path("/usr/bin/chromium").exists():
        return {}
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        page.set_default_timeout(300_000)
        for name, url in urls.items():
            page.goto(url)  # warm
            start = time.perf_counter()
            page.goto(url, wait_until="load")
            out[name] = time.perf_counter() - start
        browser.close()
    return out


def main() -> None:
    run = make_run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "comem-view-bench")
    episodes = sum(1 for _ in run.glob("*/trajectories/*.jsonl"))
    size = sum(p.stat().st_size for p in run.rglob("*.jsonl"))
    print(f"run: {run} ({episodes} episodes, {size / 1e6:.1f} MB of JSONL; one episode of {LONG} steps)")
    pages = {"run (page 1 of 3)": "/", "run (page 3)": "/?page=3", "episode, 20 steps": "/episode/kso/task-001",
             "episode, 300 steps (kso)": "/episode/kso/task-000", "episode, 300 steps (full)": "/episode/full/task-000",
             "compare, 300 steps": "/compare/task-000/0/full/kso"}
    with ViewServer(run) as server:
        start = time.perf_counter()
        httpx.get(server.url + "/", timeout=120)  # starts the report, computed in the background
        while httpx.get(server.url + "/report-stamp", timeout=120).json()["stamp"] != "ready":
            time.sleep(0.2)
        print(f"report figures (background, once): {time.perf_counter() - start:.1f} s")
        print(f"{'page':<28} {'cold s':>7} {'warm s':>7} {'kB':>7} {'browser s':>9}")
        rows = {name: timed_get(server.url + path) for name, path in pages.items()}
        loads = browser_load({name: server.url + path for name, path in pages.items()})
        for name, (cold, warm, size) in rows.items():
            shown = f"{loads[name]:.2f}" if name in loads else "-"
            print(f"{name:<28} {cold:7.2f} {warm:7.2f} {size / 1e3:7.0f} {shown:>9}")
    out = run.parent / f"{run.name}.html"
    start = time.perf_counter()
    count = export_html(run, out)
    print(f"export: {count} pages, {out.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
