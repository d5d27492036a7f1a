"""Child process hosting one llama.cpp HTTP server (xllamacpp) for `EmbeddedServer`.

A process of its own per model keeps llama.cpp's stderr out of the parent and lets the parent kill it
outright. The child reports its listening address on `--ready-fd`, then serves until SIGTERM/SIGINT or
until its parent is gone (it polls getppid, which, unlike PR_SET_PDEATHSIG, does not fire when merely
the parent *thread* that spawned it exits).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m comem.llm.embedded_worker")
    ap.add_argument("--model", required=True)
    ap.add_argument("--lora", default=None, help="a GGUF LoRA adapter applied to the model (scale 1)")
    ap.add_argument("--alias", required=True)
    ap.add_argument("--n-ctx", type=int, required=True, help="context per request (per slot)")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--n-parallel", type=int, default=1)
    ap.add_argument("--port", type=int, default=0, help="0 lets the OS pick a free port")
    ap.add_argument("--ready-fd", type=int, required=True)
    ap.add_argument("--parent-pid", type=int, required=True)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    import xllamacpp as xlc  # only the child loads the 100 MB native library

    params = xlc.CommonParams()
    params.model.path = args.model
    if args.lora:
        params.lora_adapters = [xlc.CommonAdapterLoraInfo(args.lora, 1.0)]
    params.model_alias = {args.alias}
    params.n_ctx = args.n_ctx * args.n_parallel  # llama.cpp splits n_ctx across slots; keep it per request
    params.n_parallel = args.n_parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    try:
        server = xlc.Server(params)  # loads the model, then listens
    except RuntimeError as exc:
        print(f"comem: model failed to load: {exc}", file=sys.stderr, flush=True)
        return 1
    with os.fdopen(args.ready_fd, "w") as ready:
        ready.write(server.listening_address + "\n")
    while not stop.wait(0.25):
        if os.getppid() != args.parent_pid:
            break
    del server  # joins llama.cpp's loop so the port is released before we exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
