"""Offline search: a BM25 index (bm25s) over a folder of documents, answering like Serper's organic results.

A corpus is a folder of `.md`, `.markdown`, `.txt`, `.html` and `.htm` files, searched recursively. A text
file may open with YAML front matter giving its `title` and `url`:

    ---
    title: The Salt Ledger
    url: https://books.orrin.example/salt-ledger
    ---
    body...

An HTML file takes its title from `<title>` and its url from `<link rel="canonical">`. Without them the
title is the first `# heading` (else the file name) and the url is `corpus://<relative path>`.

The index is built once and cached under a key made from every file's path, size and modification time, so
an edited corpus is re-indexed and an unchanged one loads in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import platformdirs
import yaml

from comem.core.errors import ComemError
from comem.environment.browse import eval_module
from comem.environment.browse.fetch import html_to_text
from comem.environment.browse.serper import SearchHit

DOC_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
INDEX_FORMAT = 1  # bump when the cached layout changes
SNIPPET_CHARS = 240
_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern, reused for snippets
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One corpus document: where it lives and what it claims to be."""

    url: str
    title: str
    path: str  # relative to the corpus root, POSIX style


@dataclass(frozen=True)
class DocumentText:
    title: str
    url: str | None
    text: str


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("comem")) / "bm25"


def url_key(url: str) -> str:
    """Scheme, `www.`, case of the host, trailing slashes and escapes do not make a different page."""
    raw = url.strip()
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    host = parts.netloc.lower().removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{unquote(parts.path).rstrip('/')}{query}"


def read_document(path: Path) -> DocumentText:
    """The title, declared url and plain text of one file; undecodable bytes become U+FFFD."""
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise ComemError(f"Cannot read corpus document {path}: {error.strerror or error}.",
                         fix="Make the corpus files readable.") from None
    if path.suffix.lower() in (".html", ".htm"):
        page = html_to_text(raw)
        return DocumentText(title=page.title, url=page.canonical, text=page.text)
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(raw)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as error:
            raise ComemError(f"{path}: the front matter is not valid YAML ({error}).".replace("\n", " "),
                             fix="Write `title: ...` and `url: ...` lines between the two `---` lines.") from None
        if not isinstance(loaded, dict):
            raise ComemError(f"{path}: the front matter must be `key: value` lines.",
                             fix="Write `title: ...` and `url: ...` lines between the two `---` lines.")
        meta, raw = loaded, raw[match.end():]
    heading = _HEADING.search(raw)
    title = str(meta.get("title") or (heading.group(1) if heading else ""))
    return DocumentText(title=title, url=str(meta["url"]) if meta.get("url") else None, text=raw.strip())


def _corpus_files(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
             and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(files)


def _fingerprint(root: Path, files: list[Path]) -> str:
    bm25s = eval_module("bm25s")
    stats = [(f.relative_to(root).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    blob = json.dumps([INDEX_FORMAT, getattr(bm25s, "__version__", "?"), str(root), stats])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _tokenize(texts: list[str]) -> list[list[str]]:
    bm25s = eval_module("bm25s")
    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def snippet(text: str, query: str, max_chars: int = SNIPPET_CHARS) -> str:
    """The passage sharing the most words with the query (ties: the earliest), cut to `max_chars`."""
    terms = {word.lower() for word in _WORD.findall(query)}
    plain = re.sub(r"[*`]+|^#+\s*", "", text, flags=re.MULTILINE)  # markdown emphasis and heading marks
    pieces = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", plain) if p.strip()]
    if not pieces:
        return ""
    best = max(range(len(pieces)), key=lambda i: (len(terms & {w.lower() for w in _WORD.findall(pieces[i])}), -i))
    passage = " ".join(pieces[best:best + 3])
    return passage if len(passage) <= max_chars else passage[: max_chars - 3].rstrip() + "..."


class CorpusIndex:
    """BM25 over a corpus folder; `search` mirrors Serper, `lookup` maps a result's url back to its file."""

    options: tuple[str, ...] = ()  # Serper's gl/hl/tbs mean nothing offline

    def __init__(self, root: Path, documents: list[Document], bm25: Any) -> None:
        self.root = root
        self.documents = documents
        self._bm25 = bm25
        self._by_url = {url_key(doc.url): doc for doc in documents}

    def rank(self, q: str, num: int = 10) -> list[SearchHit]:
        """The best `num` documents with a positive score, best first."""
        tokens = _tokenize([q])
        if not tokens[0] or not self.documents:
            return []
        ids, scores = self._bm25.retrieve(tokens, k=min(num, len(self.documents)), show_progress=False)
        hits = []
        for doc_id, score in zip(ids[0], scores[0], strict=True):
            if score <= 0:
                break
            doc = self.documents[int(doc_id)]
            hits.append(SearchHit(title=doc.title, link=doc.url, snippet=snippet(self.text(doc), q)))
        return hits

    async def search(self, q: str, num: int = 10, **options: str) -> list[SearchHit]:
        return await asyncio.to_thread(self.rank, q, num)

    def lookup(self, url: str) -> Document | None:
        return self._by_url.get(url_key(url))

    def text(self, doc: Document) -> str:
        return read_document(self.root / doc.path).text


def open_index(corpus: Path, cache_dir: Path | None = None) -> CorpusIndex:
    """The index of `corpus`, from the cache when the folder is unchanged, else built and cached."""
    root = Path(corpus).expanduser().resolve()
    if not root.is_dir():
        raise ComemError(f"Corpus folder {root} does not exist.", fix="Pass a folder of .md/.txt/.html documents.")
    files = _corpus_files(root)
    if not files:
        raise ComemError(f"Corpus folder {root} has no documents ({', '.join(DOC_SUFFIXES)}).",
                         fix="Put the documents to search in that folder.")
    return _open_cached(root, _fingerprint(root, files), (cache_dir or default_cache_dir()).resolve())


@lru_cache(maxsize=4)
def _open_cached(root: Path, key: str, cache_dir: Path) -> CorpusIndex:
    """One load per process and corpus version: every episode over the same corpus shares it (read-only)."""
    bm25s = eval_module("bm25s")
    target = cache_dir / key
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        documents = [Document(**d) for d in json.loads((target / "documents.json").read_text(encoding="utf-8"))]
        return CorpusIndex(root, documents, bm25s.BM25.load(str(target), show_progress=False))
    shutil.rmtree(target, ignore_errors=True)  # missing or unreadable: rebuild it
    documents, texts, seen = [], [], {}
    for file in _corpus_files(root):
        relative = file.relative_to(root).as_posix()
        parsed = read_document(file)
        url = parsed.url or f"corpus://{relative}"
        if url_key(url) in seen:
            raise ComemError(f"Corpus documents {seen[url_key(url)]} and {relative} have the same url {url}.",
                             fix="Give every document its own url.")
        seen[url_key(url)] = relative
        documents.append(Document(url=url, title=parsed.title or file.stem, path=relative))
        texts.append(f"{parsed.title}\n{parsed.text}")
    bm25 = bm25s.BM25()
    bm25.index(_tokenize(texts), show_progress=False)
    _save(target, documents, bm25)
    return CorpusIndex(root, documents, bm25)


def _save(target: Path, documents: list[Document], bm25: Any) -> None:
    """Write to a scratch folder and rename it into place, so concurrent builders never see half an index."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        bm25.save(str(scratch), show_progress=False)
        (scratch / "documents.json").write_text(json.dumps([asdict(d) for d in documents]), encoding="utf-8")
        os.replace(scratch, target)
    except OSError:
        pass  # another process got there first, or the cache is read-only: the in-memory index still works
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
