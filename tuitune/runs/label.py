"""A run's name and note, given by a person (``tuitune runs name|note``, ``n`` in the TUI), in
``RUN/label.json``. The run's id — its folder, what ``run:<id>`` and every event name — never
changes; the name is what the tables show beside it. Written only by the fronts, atomically;
the worker never reads it. Light (JSON only): the runs tables read it for every row."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tuitune.errors import TuituneError
from tuitune.paths import atomic_write_text

FILE = "label.json"
MAX_NAME = 60
MAX_NOTE = 2000


class LabelError(TuituneError):
    """A name or note that cannot be stored; the message says what is allowed."""


@dataclass(frozen=True)
class Label:
    name: str = ""
    note: str = ""


def read_label(run_path: Path) -> Label:
    """The run's label; none (or an unreadable file) is an empty one."""
    try:
        data = json.loads((run_path / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Label()
    if not isinstance(data, dict):
        return Label()
    return Label(str(data.get("name") or ""), str(data.get("note") or ""))


def write_label(run_path: Path, name: str | None = None, note: str | None = None) -> Label:
    """Change the name and/or the note (None: keep it; empty: remove it); returns the new label."""
    old = read_label(run_path)
    label = Label(old.name if name is None else check_name(name), old.note if note is None else check_note(note))
    atomic_write_text(run_path / FILE, json.dumps(asdict(label), ensure_ascii=False) + "\n")
    return label


def check_name(name: str) -> str:
    name = name.strip()
    if "\n" in name or "\r" in name:
        raise LabelError("a run's name is one line; put longer words in its note")
    if len(name) > MAX_NAME:
        raise LabelError(f"a run's name is at most {MAX_NAME} characters (this one has {len(name)}); "
                         "put the rest in its note")
    return name


def check_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise LabelError(f"a run's note is at most {MAX_NOTE} characters (this one has {len(note)})")
    return note
