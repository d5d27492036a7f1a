"""What `comem serve` adds to a request, at 64 concurrent sessions: `python benchmarks/gateway_overhead.py`.

Three processes on loopback, as in use: a stand-in upstream that answers at once (tool calls for the agent, a
short text for the memory model), the gateway (`comem serve`, the real CLI), and this client, which runs 64
sessions x 20 turns of a tool-calling agent with the `openai` wire shape. The same traffic goes, in one run,
(a) straight to the upstream, (b) through the gateway passing requests through (`--min-tokens` above every
request) and (c) through the gateway rewriting them (summaries from the first request on, k = 2, `deadline`).

Three figures per mode: the gateway process's CPU time per request (what it costs, whatever else runs), and the
added latency (the mode's percentile minus the direct one's) with one session at a time and with 64 at once.
With 64 sessions the two cores are shared by all three processes, so that latency is mostly queueing for a core:
read the figures side by side, with the load average printed beside them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SESSIONS, TURNS = 64, 20
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_upstream(port_file: str) -> None:
    """The stand-in upstream (run in its own process)."""
    sys.path.insert(0, str(ROOT))
    from tests.gateway.agents import tool_reply
    from tests.gateway.helpers import ChatUpstream

    def reply(body: dict[str, Any], protocol: str) -> Any:
        return tool_reply(body, protocol) if body.get("tools") else "a short summary of the steps"

    with ChatUpstream(reply) as upstream:
        Path(port_file).write_text(upstream.url)
        while True:
            time.sleep(3600)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


async def session(client: httpx.AsyncClient, url: str, n: int, times: list[float]) -> None:
    body: dict[str, Any] = {"model": "m", "tools": [{"type": "function", "function": {"name": "bash", "parameters": {
        "type": "object", "properties": {"command": {"type": "string"}}}}}],
        "messages": [{"role": "system", "content": "You are an agent. " * 40},
                     {"role": "user", "content": f"Task {n}: fix the failing test. " * 10}]}
    for i in range(TURNS):
        t = time.perf_counter()
        answer = await client.post(url + "/chat/completions", json=body, headers={"x-comem-session": f"s{n}"})
        times.append(time.perf_counter() - t)
        answer.raise_for_status()
        call = answer.json()["choices"][0]["message"]["tool_calls"][0]
        call["id"] = f"c{i}"
        body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                             {"role": "tool", "tool_call_id": f"c{i}", "content": f"output of step {i}\n" * 30}]


async def load(url: str, sessions: int) -> list[float]:
    times: list[float] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=sessions)) as client:
        await asyncio.gather(*(session(client, url, n, times) for n in range(sessions)))
    return times


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_gateway(upstream: str, out: Path, min_tokens: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "comem"), "serve", "--upstream", upstream,
                             "--memory-model", f"{upstream}#memory", "--port", str(port), "--out", str(out),
                             "--min-tokens", str(min_tokens), "--arm", "kso-k2-deadline"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(300):
        try:
            httpx.get(url.removesuffix("/v1") + "/health", timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "upstream"
        upstream_proc = subprocess.Popen([sys.executable, __file__, "--upstream", str(port_file)])
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        upstream = port_file.read_text() + "/v1"
        gateways = {"pass-through": start_gateway(upstream, Path(tmp) / "pass", 10**9),
                    "rewriting": start_gateway(upstream, Path(tmp) / "rewrite", 0)}
        one: dict[str, list[float]] = {"direct": [], "pass-through": [], "rewriting": []}
        many: dict[str, list[float]] = {"direct": [], "pass-through": [], "rewriting": []}
        cpu: dict[str, float] = {}
        try:
            one["direct"] = asyncio.run(load(upstream, 1))
            many["direct"] = asyncio.run(load(upstream, SESSIONS))
            for mode, (proc, url) in gateways.items():
                before = cpu_s(proc.pid)
                one[mode] = asyncio.run(load(url, 1))
                many[mode] = asyncio.run(load(url, SESSIONS))
                cpu[mode] = (cpu_s(proc.pid) - before) / (len(one[mode]) + len(many[mode]))
            metrics = httpx.get(gateways["rewriting"][1].removesuffix("/v1") + "/metrics").text
        finally:
            for proc, _ in gateways.values():
                proc.terminate()
            upstream_proc.terminate()
    rewritten = sum(float(line.split()[-1]) for line in metrics.splitlines()
                    if line.startswith("comem_gateway_requests_total") and 'rewritten="yes"' in line)
    print(f"1 and {SESSIONS} sessions x {TURNS} turns per mode; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'mode':<14}{'CPU ms/req':>11}{'1: p50':>9}{'p99':>8}{'added p50':>10}"
          f"{f'{SESSIONS}: p50':>10}{'p99':>8}{'added p50':>10}{'added p99':>10}")
    rows = {}
    for mode in one:
        a50, a99 = percentile(one[mode], 50) * 1e3, percentile(one[mode], 99) * 1e3
        b50, b99 = percentile(many[mode], 50) * 1e3, percentile(many[mode], 99) * 1e3
        d = (percentile(one["direct"], 50) * 1e3, percentile(many["direct"], 50) * 1e3,
             percentile(many["direct"], 99) * 1e3)
        rows[mode] = {"cpu_ms_per_request": cpu.get(mode, 0.0) * 1e3, "one_p50_ms": a50, "one_p99_ms": a99,
                      "one_added_p50_ms": a50 - d[0], "many_p50_ms": b50, "many_p99_ms": b99,
                      "many_added_p50_ms": b50 - d[1], "many_added_p99_ms": b99 - d[2]}
        r = rows[mode]
        print(f"{mode:<14}{r['cpu_ms_per_request']:>11.2f}{a50:>9.2f}{a99:>8.2f}{r['one_added_p50_ms']:>10.2f}"
              f"{b50:>10.1f}{b99:>8.1f}{r['many_added_p50_ms']:>10.1f}{r['many_added_p99_ms']:>10.1f}")
    print(f"rewriting: {rewritten:.0f} of {len(one['rewriting']) + len(many['rewriting'])} requests carried a summary")
    print(json.dumps(rows))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--upstream":
        serve_upstream(sys.argv[2])
    else:
        main()
