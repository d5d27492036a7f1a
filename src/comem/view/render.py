"""Pages to HTML with the package's Jinja templates; the stylesheet and script are inlined, so a served page
needs no other request and an export opens from disk. Links are paths when served and `#path` in an export."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def environment() -> Environment:
    return Environment(loader=PackageLoader("comem.view", "templates"), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def asset(name: str) -> str:
    return (resources.files("comem.view") / "static" / name).read_text(encoding="utf-8")


class Renderer:
    def __init__(self, *, export: bool = False) -> None:
        self.export = export

    def link(self, path: str) -> str:
        return "#" + path if self.export else path

    def page(self, template: str, *, bare: bool = False, **context: Any) -> str:
        """A whole document, or with `bare` only the page's content (a section of an export)."""
        context.setdefault("root", "")
        context.setdefault("stamp_url", None)
        return environment().get_template(template).render(
            link=self.link, css=asset("view.css"), js=asset("view.js"), bare=bare, export=self.export, **context)
