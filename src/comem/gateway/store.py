"""Which session a request belongs to, the sessions held in memory, and their state on disk.

Identity, in order: the `X-Comem-Session` header; the client's own session id (Claude Code's session header,
OpenAI `prompt_cache_key` / `user`, Anthropic `metadata.user_id`); else a hash of the first user message. Each
is scoped by a hash of (model, system prompt, tools), so a side request with its own system prompt (a subagent,
a title generator) is a session of its own and never sees another's summary.

State that must survive a restart (the turns' fingerprints and the installed summary) goes to SQLite in the
output directory after every request; steps and memory updates go to the session's trajectory file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from comem.context import StrategyConfig
from comem.core.records import MemoryRecord
from comem.eval.results import RESULTS_FILE, TRAJECTORIES_DIR, ResultsFile
from comem.gateway.session import Session
from comem.gateway.wire import Conversation, Wire
from comem.gateway.wire.base import digest
from comem.llm.base import LLM

SESSION_HEADERS = ("x-comem-session", "x-claude-code-session-id")


def session_key(wire: Wire, body: dict[str, Any], conv: Conversation, headers: Mapping[str, str]) -> str:
    scope = digest([conv.model, conv.system, conv.tools_key])
    declared = next((headers[h] for h in SESSION_HEADERS if headers.get(h)), None) or wire.client_session(body)
    base = declared or "h" + digest([scope, conv.task])
    return f"{base}~{scope}"


def file_name(key: str) -> str:
    """A readable, unique, safe file name for a session key."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", key.rsplit("~", 1)[0])[:48].lstrip(".")
    return f"{base}-{digest(key)[:8]}"


class SessionStore:
    def __init__(self, out: Path, arm: StrategyConfig, memory_llm: LLM | None, *, max_sessions: int, idle_s: float,
                 on_memory: Callable[[MemoryRecord], None]) -> None:
        self.arm, self.memory_llm, self.on_memory = arm, memory_llm, on_memory
        self.max_sessions, self.idle_s = max_sessions, idle_s
        self.dir = out / arm.key / TRAJECTORIES_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self.results = ResultsFile(out / arm.key / RESULTS_FILE)
        self.live: OrderedDict[str, Session] = OrderedDict()
        self.db = sqlite3.connect(out / "sessions.sqlite", check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS session (key TEXT PRIMARY KEY, file TEXT, fingerprints TEXT,"
                        " installed TEXT, last_seen REAL)")
        self.db.execute("DELETE FROM session WHERE last_seen < ?", (time.time() - idle_s,))
        self.db.commit()

    async def get(self, key: str, conv: Conversation) -> Session:
        session = self.live.get(key)
        if session is not None:
            self.live.move_to_end(key)
        else:
            session = self._open(key, conv)
            self.live[key] = session
            while len(self.live) > self.max_sessions:  # out of memory, not forgotten: its state stays on disk
                await self.live.pop(self._victim(keep=key)).close()
        session.last_seen = time.time()
        return session

    def _victim(self, keep: str) -> str:
        """The session to take out of memory, never `keep` (the one being served): the least recently used with no
        summary in flight (closing a session cancels its memory work, which its next request would then miss),
        else the least recently used."""
        others = [k for k in self.live if k != keep]
        return next((k for k in others if not self.live[k].summarising), others[0])

    def _open(self, key: str, conv: Conversation) -> Session:
        row = self.db.execute("SELECT file, fingerprints, installed FROM session WHERE key = ?", (key,)).fetchone()
        name = row[0] if row else file_name(key)
        if row is None and (self.dir / f"{name}.jsonl").exists():  # the same id again after its state expired
            name += f"-{int(time.time())}"
        session = Session(key, self.arm, self.memory_llm, conv, self.dir / f"{name}.jsonl", self.on_memory,
                          fresh=row is None)
        if row is not None:
            installed = MemoryRecord.model_validate_json(row[2]) if row[2] else None
            session.restore(conv, json.loads(row[1]), installed)
        return session

    def save(self, session: Session) -> None:
        installed = session.installed
        self.db.execute("INSERT OR REPLACE INTO session VALUES (?, ?, ?, ?, ?)", (
            session.key, session.path.stem, json.dumps(session.fingerprints),
            installed.model_dump_json() if installed is not None else None, session.last_seen))
        self.db.commit()

    async def sweep(self) -> None:
        """Close sessions idle for longer than `idle_s` and forget their state."""
        cutoff = time.time() - self.idle_s
        for key in [k for k, s in self.live.items() if s.last_seen < cutoff]:
            self.results.append(await self.live.pop(key).close())
        self.db.execute("DELETE FROM session WHERE last_seen < ?", (cutoff,))
        self.db.commit()

    async def close(self) -> None:
        """The gateway stops: every live session ends with its result line (a session resumed after a restart
        keeps its first line; its trajectory file has every step)."""
        while self.live:
            _, session = self.live.popitem()
            self.results.append(await session.close())
        self.db.close()
