"""Fetching pages from a real loopback server: HTML to text, size caps, bad bytes and binary bodies never crash."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from comem.environment.browse.fetch import Page, cap_chars, fetch_page, html_to_text, page_from_bytes
from comem.environment.tools import ToolError
from tests.environment.browse.helpers import PageServer, Route
from tests.extras import needs

Serve = Callable[[dict[str, Route]], PageServer]
html = needs("bs4")  # reading HTML and sniffing charsets

ARTICLE = b"""<!doctype html><html><head><title>Quince Fair</title><style>p { color: red }</style>
<script>alert("never shown")</script></head><body>
<nav><a href="/">Home</a> <a href="/menu">Menu item</a></nav>
<h1>The Quince Fair</h1><p>Held every <b>October</b> in <a href="/kelby">Kelby Harbour</a> since 1850.</p>
<h2>Stalls</h2><ul><li>Quince paste</li><li>Cider</li></ul>
<table><tr><th>Year</th><td>1850</td></tr></table>
<form><input name="q"><button>Search</button></form><footer>Copyright the council</footer></body></html>"""


def _fetch(url: str, **kwargs: object) -> Page:
    return asyncio.run(fetch_page(url, **kwargs))  # type: ignore[arg-type]


@html
def test_html_becomes_readable_text_without_scripts_navigation_or_forms() -> None:
    page = html_to_text(ARTICLE.decode())
    assert page.title == "Quince Fair"
    assert page.text.splitlines() == [
        "# The Quince Fair", "Held every October in Kelby Harbour since 1850.", "## Stalls", "- Quince paste",
        "- Cider", "Year | 1850 |",
    ]


@html
def test_fetch_reads_a_page_over_http(page_server: Serve) -> None:
    server = page_server({"/fair": Route(ARTICLE)})
    page = _fetch(f"{server.url}/fair")
    assert page.title == "Quince Fair" and "Held every October in Kelby Harbour since 1850." in page.text
    assert page.note == "" and "alert" not in page.text
    rendered = page.render()
    assert rendered.startswith(f"Title: Quince Fair\nURL: {server.url}/fair\n\n# The Quince Fair")
    assert "comem-browse" in server.requests[0]["headers"]["User-Agent"]


@html
def test_a_100_mb_body_is_capped_without_reading_it_all(page_server: Serve) -> None:
    chunk = b"<p>" + b"quince " * 9000 + b"</p>\n"  # ~63 kB per chunk

    def huge() -> Iterator[bytes]:
        for _ in range(100_000_000 // len(chunk)):
            yield chunk

    server = page_server({"/huge": Route(huge, headers={"Content-Length": str(100_000_000)})})
    page = _fetch(f"{server.url}/huge", max_bytes=1_000_000, max_chars=5_000)
    assert "only the first 1000000 were read" in page.note
    assert re.search(r"\n\[\.\.\. truncated: showing the first 5000 of \d{6} characters \.\.\.\]$", page.text)
    time.sleep(0.2)
    assert server.sent["/huge"] < 20_000_000  # the server was cut off long before 100 MB


@html
def test_invalid_utf8_and_nul_bytes_are_replaced_not_fatal(page_server: Serve) -> None:
    body = b"caf\xc3\xa9 ok, then bad \xff\xfe\xc3 bytes\x00 and a NUL"
    server = page_server({"/bad": Route(body, "text/plain; charset=utf-8")})
    page = _fetch(f"{server.url}/bad")
    assert page.text == "café ok, then bad \ufffd\ufffd\ufffd bytes and a NUL"
    page.render().encode("utf-8")  # valid UTF-8 all the way to the observation


@html
def test_the_declared_charset_is_honoured_and_a_bogus_one_falls_back(page_server: Serve) -> None:
    latin = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>na\xefve</p></body></html>'
    server = page_server({
        "/latin": Route(latin.encode("latin-1"), "text/html"),
        "/bogus": Route("naïve".encode(), "text/plain; charset=no-such-codec"),
    })
    page = _fetch(f"{server.url}/latin")
    assert (page.title, page.text) == ("Café", "naïve")
    assert _fetch(f"{server.url}/bogus").text == "naïve"


def test_binary_content_is_a_note_and_its_body_is_not_read(page_server: Serve) -> None:
    def endless_png() -> Iterator[bytes]:
        yield b"\x89PNG\r\n\x1a\n"
        for _ in range(2000):
            yield b"\x00\xff" * 32_768

    server = page_server({"/img": Route(endless_png, "image/png"),
                          "/doc": Route(b"%PDF-1.7\x00\x01", "application/pdf")})
    page = _fetch(f"{server.url}/img")
    assert (page.text, page.note) == ("", "[binary content (image/png) is not shown]")
    assert "(no text content)" in page.render()
    assert _fetch(f"{server.url}/doc").note == "[binary content (application/pdf) is not shown]"
    time.sleep(0.2)
    assert server.sent["/img"] < 20_000_000


@html
def test_untyped_bodies_are_sniffed() -> None:
    assert page_from_bytes("u", b"\x00\x01\x02binary", "").note.startswith("[binary content (unknown type)")
    assert page_from_bytes("u", b"<html><title>T</title><p>x</p></html>", "").title == "T"
    assert page_from_bytes("u", b"just text", "").text == "just text"


def test_http_errors_unreachable_hosts_and_bad_urls_are_tool_errors(page_server: Serve) -> None:
    server = page_server({})
    with pytest.raises(ToolError, match="HTTP 404"):
        _fetch(f"{server.url}/missing")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ToolError, match=f"Fetching http://127.0.0.1:{port}/ failed"):
        _fetch(f"http://127.0.0.1:{port}/")
    for url in ("file:///etc/passwd", "ftp://x.example/", "not a url", ""):
        with pytest.raises(ToolError, match="only http:// and https://"):
            _fetch(url)


def test_a_slow_server_times_out(page_server: Serve) -> None:
    def slow() -> Iterator[bytes]:
        yield b"<p>start</p>"
        time.sleep(3)
        yield b"<p>end</p>"

    server = page_server({"/slow": Route(slow)})
    with pytest.raises(ToolError, match="timed out after 0.5 s"):
        _fetch(f"{server.url}/slow", timeout_s=0.5)


@html
def test_redirects_are_followed_and_the_final_url_reported(page_server: Serve) -> None:
    server = page_server({"/old": Route(b"", status=301, headers={"Location": "/new"}), "/new": Route(b"<p>moved</p>")})
    page = _fetch(f"{server.url}/old")
    assert (page.url, page.text) == (f"{server.url}/new", "moved")


def test_cap_chars_says_how_much_was_cut() -> None:
    assert cap_chars("abc", 3) == "abc"
    assert cap_chars("abcdef", 2) == "ab\n[... truncated: showing the first 2 of 6 characters ...]"
