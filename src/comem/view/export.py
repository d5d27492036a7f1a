"""`comem view PATH --export out.html`: every page of a directory in one self-contained file (styles, script
and drawings inline) that opens from disk; links become `#/path` and a few lines of the page's script show the
section a link names. A run exports its overview, every episode, and each task's first arm against each other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from comem.core.errors import ComemError
from comem.view import pages
from comem.view.load import index_run, kind_of, load_episode
from comem.view.render import Renderer, asset, environment


def sections(root: Path) -> list[tuple[str, str]]:
    """(path, HTML) of every page, the overview first."""
    html = Renderer(export=True)
    if kind_of(root) == "replay":
        data = pages.replay_page(root, pages.load_replay(root), None)
        return [("/", html.page("replay.html", bare=True, **data))]
    index = index_run(root)
    out = [("/", html.page("run.html", bare=True, **pages.run_page(index, pages.run_report(root), None)))]
    for ref in index.episodes:
        out.append((pages.episode_path(ref), html.page("episode.html", bare=True,
                                                       **pages.episode_page(load_episode(ref)))))
    for (task, seed), arms in index.by_key().items():
        present = [a for a in index.arms if a in arms]
        for other in present[1:]:
            data = pages.compare_page(index, task, seed, present[0], other)
            if data is not None:
                out.append((pages.compare_path(task, seed, present[0], other),
                            html.page("compare.html", bare=True, **data)))
    return out


def export_html(root: Path, out: Path) -> int:
    """Write the export of `root` to `out`; returns the number of pages in it."""
    root = root.resolve()
    if not out.parent.is_dir():
        raise ComemError(f"Cannot write {out}: {out.parent} does not exist.", fix="create it, or pick another path.")
    parts = sections(root)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = environment().get_template("export.html").render(
        title=root.name, root=str(root), when=when, sections=parts, css=asset("view.css"), js=asset("view.js"))
    out.write_text(text, encoding="utf-8")
    return len(parts)
