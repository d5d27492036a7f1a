"""The append-only JSONL files a run writes: one record per line, flushed and fsynced as soon as it exists, so a
crash loses at most the line in flight, and a torn last line is dropped when the file is read back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

from comem.core.records import EpisodeEnd, EpisodeStart, MemoryRecord, Step


class TrajectoryWriter:
    """Appends records to a JSONL file, flushing and fsyncing each line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = path.open("a", encoding="utf-8")

    def write(self, record: BaseModel) -> None:
        self._fh.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_records(path: Path) -> list[BaseModel]:
    """Parse a trajectory file back into typed records; a torn last line (crash mid-write) is skipped."""
    kinds: dict[str, type[BaseModel]] = {
        "step": Step, "memory": MemoryRecord, "episode_start": EpisodeStart, "episode_end": EpisodeEnd,
    }
    out: list[BaseModel] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        out.append(kinds[data["type"]].model_validate(data))
    return out
