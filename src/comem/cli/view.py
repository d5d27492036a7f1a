"""`comem view PATH`: serve the web viewer of a run, replay or gateway-session directory, or export it."""

from __future__ import annotations

import contextlib
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from comem.cli.common import console


def view_command(
    path: Annotated[Path, typer.Argument(help="A directory written by `comem run`, `comem eval`, `comem bench "
                                              "replay` or `comem serve`.")],
    port: Annotated[int, typer.Option(help="Port to listen on; 0: a free one.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but loopback needs --api-key.")]
    = "127.0.0.1",
    api_key: Annotated[str | None, typer.Option(help="Key every request must carry (X-API-Key, Authorization: "
                                                "Bearer, or ?key= once). Env: COMEM_VIEW_API_KEY.",
                                                envvar="COMEM_VIEW_API_KEY")] = None,
    export: Annotated[Path | None, typer.Option(help="Write one self-contained HTML file here instead of "
                                                "serving.")] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the viewer in a browser when one "
                                               "is available.")] = True,
) -> None:
    """See what the memory did: the run's grid and figures, each episode's timeline, the exact context of every
    step, what each summary kept and lost, two arms side by side, replays and live gateway sessions."""
    if export is not None:
        from comem.view.export import export_html

        count = export_html(path, export)
        console.print(f"written: {escape(str(export))} ({count} pages, {export.stat().st_size / 1e6:.1f} MB)")
        return
    from comem.view.serve import ViewServer

    server = ViewServer(path, host=host, port=port, api_key=api_key)
    console.print(f"comem view: serving {escape(str(path))} at [bold]{server.url}[/] (Ctrl-C stops it)"
                  + ("; open it once with ?key=YOUR_KEY, a cookie keeps it" if api_key else ""))
    if open_browser:
        webbrowser.open(server.url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down cleanly, then passes Ctrl-C on
        server.serve()
    console.print("comem view: stopped.")
