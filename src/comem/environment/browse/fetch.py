"""Pages as short plain text: bounded reads, any bytes decoded, HTML reduced to its readable content.

Agents fetch whatever a search returns: multi-megabyte pages, PDFs, images, pages that lie about their
charset. Reads stop at a byte cap, decoding never fails, non-text content becomes a one-line note and the
text is cut at a character cap with a note saying so, so no page can crash an episode or flood its context.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
from dataclasses import dataclass

import httpx

from comem.environment.browse import eval_module
from comem.environment.tools import ToolError

USER_AGENT = "Mozilla/5.0 (compatible; comem-browse/0.1)"
MAX_BYTES = 2_000_000
MAX_CHARS = 12_000
TIMEOUT_S = 30.0
_SNIFF_BYTES = 8192
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/javascript",
               "application/ld+json", "application/rss+xml", "application/atom+xml")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Tags whose text is never page content (the title is reported on its own).
_DROP = ["title", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "head",
         "nav", "footer", "form", "button", "select", "textarea"]
_BLOCKS = ["p", "div", "section", "article", "main", "header", "aside", "ul", "ol", "li", "table", "tr", "h1", "h2",
           "h3", "h4", "h5", "h6", "blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "br", "hr",
           "address", "details", "summary", "caption"]
_HEADING = re.compile(r"^h[1-6]$")


@dataclass(frozen=True)
class HtmlText:
    title: str
    text: str
    canonical: str | None  # <link rel="canonical">: the page's own idea of its URL


@dataclass(frozen=True)
class Page:
    """A fetched page as the agent sees it. `note` explains anything not shown (binary content, a cut)."""

    url: str
    title: str
    text: str
    content_type: str = ""
    note: str = ""

    def render(self) -> str:
        head = [f"Title: {self.title}" if self.title else "", f"URL: {self.url}", self.note]
        return "\n".join(line for line in head if line) + "\n\n" + (self.text or "(no text content)")


def html_to_text(html: str) -> HtmlText:
    """Headings, paragraphs and list items as markdown-ish lines; scripts, navigation and forms dropped."""
    soup = eval_module("bs4").BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    link = soup.find("link", rel="canonical", href=True)
    canonical = str(link["href"]).strip() if link else None
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_HEADING):
        tag.insert(0, "#" * int(tag.name[1]) + " ")
    for tag in soup.find_all("li"):
        tag.insert(0, "- ")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" | ")
    for tag in soup.find_all(_BLOCKS):  # line breaks around blocks only: inline links stay in their sentence
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return HtmlText(title=title, text="\n".join(line for line in lines if line), canonical=canonical or None)


def cap_chars(text: str, max_chars: int) -> str:
    """The first `max_chars` characters, with a note saying how much was cut."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[... truncated: showing the first {max_chars} of {len(text)} characters ...]"


def decode(data: bytes, charset: str | None, *, html: bool) -> str:
    """Text from bytes in any declared (or wrong) encoding; undecodable bytes become U+FFFD, NULs are dropped."""
    detector = eval_module("bs4.dammit").EncodingDetector
    declared = charset or (detector.find_declared_encoding(data[:_SNIFF_BYTES], is_html=html) if html else None)
    encoding = "utf-8"
    if declared:
        with contextlib.suppress(LookupError):  # an unknown charset name: fall back to UTF-8
            encoding = codecs.lookup(declared).name
    return data.decode(encoding, errors="replace").replace("\x00", "")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_text(media_type: str, head: bytes) -> bool:
    if media_type:
        return media_type.startswith(_TEXT_TYPES) or media_type.endswith(("+xml", "+json"))
    return b"\x00" not in head[:_SNIFF_BYTES]  # no type given: sniff


def page_from_bytes(url: str, data: bytes, content_type: str, *, charset: str | None = None,
                    max_chars: int = MAX_CHARS, cut_at_bytes: int | None = None) -> Page:
    """Turn a body (already capped) into the agent's view; `cut_at_bytes` says the read stopped there."""
    media_type = _media_type(content_type)
    if not _is_text(media_type, data):
        return Page(url=url, title="", text="", content_type=media_type,
                    note=f"[binary content ({media_type or 'unknown type'}) is not shown]")
    html = media_type in _HTML_TYPES or (not media_type and b"<html" in data[:_SNIFF_BYTES].lower())
    text = decode(data, charset, html=html)
    title = ""
    if html:
        parsed = html_to_text(text)
        title, text = parsed.title, parsed.text
    note = f"[page larger than {cut_at_bytes} bytes: only the first {cut_at_bytes} were read]" if cut_at_bytes else ""
    return Page(url=url, title=title, text=cap_chars(text, max_chars), content_type=media_type, note=note)


async def fetch_page(url: str, *, max_bytes: int = MAX_BYTES, max_chars: int = MAX_CHARS,
                     timeout_s: float = TIMEOUT_S) -> Page:
    """GET an http(s) URL; every failure (bad URL, HTTP error, timeout, refused) is a ToolError for the agent."""
    if not re.match(r"(?i)^https?://[^/\s]+", url.strip()):
        raise ToolError(f"Cannot fetch {url!r}: only http:// and https:// URLs can be fetched.")
    try:
        async with asyncio.timeout(timeout_s), httpx.AsyncClient(
            follow_redirects=True, max_redirects=5, timeout=timeout_s, headers={"User-Agent": USER_AGENT},
        ) as client, client.stream("GET", url.strip()) as response:
            if response.status_code >= 400:
                raise ToolError(f"Fetching {url} failed: HTTP {response.status_code} {response.reason_phrase}.")
            content_type = response.headers.get("content-type", "")
            if _media_type(content_type) and not _is_text(_media_type(content_type), b""):
                return page_from_bytes(str(response.url), b"", content_type)  # binary: never read the body
            body = bytearray()
            cut_at = None
            async for chunk in response.aiter_bytes():
                body += chunk[: max_bytes - len(body)]
                if len(body) >= max_bytes:
                    cut_at = max_bytes
                    break
            return page_from_bytes(str(response.url), bytes(body), content_type,
                                   charset=response.charset_encoding, max_chars=max_chars, cut_at_bytes=cut_at)
    except TimeoutError:
        raise ToolError(f"Fetching {url} timed out after {timeout_s:g} s.") from None
    except httpx.InvalidURL as error:
        raise ToolError(f"Cannot fetch {url!r}: {error}.") from None
    except httpx.HTTPError as error:
        detail = str(error) or type(error).__name__
        raise ToolError(f"Fetching {url} failed: {detail}.") from None
