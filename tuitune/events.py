"""The event stream: ``events.jsonl`` in a run directory, one JSON object per line.

Every event carries the schema version ``v``, a sequence number ``seq`` that only grows (also
across resumes) and a wall-clock timestamp ``ts``. The worker appends; fronts tail the file and
may start reading at any time. A half-written last line (a worker killed mid-write) is left
unread until it is completed, and a line that is not valid JSON is skipped, never fatal.

Event types: ``started``, ``step``, ``eval``, ``checkpoint``, ``status``, ``warning``, ``error``,
``finished``; ``guidance`` (the guided defaults and their reasons), ``probe`` (probe prompts
answered at step 0, each evaluation and the end), ``samples`` (base vs tuned saved), ``note``.
Coach warnings carry ``source = "coach"`` and a ``code``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


class EventWriter:
    """Appends events to an ``events.jsonl`` file, continuing its sequence numbers."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.seq = last_seq(self.path)
        self._lock = threading.Lock()  # the worker's NVML sampler thread emits too
        self._file = open(self.path, "a", encoding="utf-8")
        if self._file.tell() > 0 and not _ends_with_newline(self.path):
            # A previous worker died mid-line: end that torn line so ours start clean.
            self._file.write("\n")

    def emit(self, type: str, *, sync: bool = False, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self.seq += 1
            event = {"v": SCHEMA_VERSION, "seq": self.seq, "ts": round(time.time(), 3), "type": type, **fields}
            self._file.write(json.dumps(event, default=_jsonable) + "\n")
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        return event

    def continue_sequence(self) -> None:
        """Number on after the events another process appended meanwhile (the export child the
        training worker waited for): ``seq`` only grows."""
        self.seq = max(self.seq, last_seq(self.path))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventReader:
    """Reads new complete events from a growing ``events.jsonl``; remembers where it stopped."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self.skipped = 0

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        events = []
        for line in chunk[: end + 1].splitlines():
            event = parse_line(line)
            if event is None:
                if line.strip():
                    self.skipped += 1
                continue
            events.append(event)
        return events


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """One event from one line, or None when the line is blank or not an event."""
    try:
        event = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or "type" not in event or "seq" not in event:
        return None
    return event


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete, valid events in a file (empty if there is no file)."""
    return EventReader(path).read_new()


def iter_type(events: list[dict[str, Any]], type: str) -> Iterator[dict[str, Any]]:
    return (e for e in events if e.get("type") == type)


def last_seq(path: Path) -> int:
    events = read_events(path)
    return max((int(e["seq"]) for e in events), default=0)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()
    return str(value)
