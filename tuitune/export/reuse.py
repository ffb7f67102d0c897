"""What an export may keep from the one before: ticking one more GGUF type must not merge,
convert and quantize everything again (minutes on a 7B model) to add one file.

Three things are reused, each only when it is provably what this export would build:

- ``merged/``: its marker (``merged/tuitune-source.json``, written after the last file) records
  the run's result it came from — ``adapter/`` or ``model/``, each file's size and modification
  time, the step and the weights (an early-stopped run exports its best checkpoint) — and the
  size of every file it wrote. Retraining, resuming or a half-written folder changes one of those.
- the 16-bit GGUF (``merged/<name>-f16.gguf``, kept beside the weights it was converted from, so
  deleting ``merged/`` removes both): its own marker records the same source and its size.
- each GGUF type of the previous export that passed verification, from the same source, whose
  file still has the size it had: its file, its perplexity and its greedy answers are kept.

Heavy-free: sizes and times only, no hashing of multi-GB files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuitune.paths import atomic_write_text
from tuitune.runs.store import RunDir

MARKER = "tuitune-source.json"


def source_of(run: RunDir) -> dict[str, Any]:
    """The run's trained result as it is now: what an export builds from."""
    folder = run.model if (run.model / "config.json").exists() else run.adapter
    state = run.read_state()
    return {"result": folder.name, "files": _files(folder), "step": state.step, "weights": state.weights}


def mark(path: Path, source: dict[str, Any]) -> None:
    """Vouch for ``path`` (a folder or a file) as built from ``source``; written last."""
    marker = _marker(path)
    atomic_write_text(marker, json.dumps({"source": source, "files": _files(path)}) + "\n")


def intact(path: Path, source: dict[str, Any]) -> bool:
    """``path`` was marked as built from ``source`` and is still what was marked."""
    marker = _marker(path)
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or recorded.get("source") != source or not path.exists():
        return False
    now = _files(path)
    return bool(recorded.get("files")) and all(now.get(name) == seen for name, seen in recorded["files"].items())


def kept_types(previous: dict[str, Any] | None, source: dict[str, Any], quants: list[str],
               folder: Path) -> dict[str, dict[str, Any]]:
    """The entries of ``previous`` (the last export's report) for the types in ``quants`` that
    can be kept as they are: that export passed, from this very source, and the file in
    ``folder`` is unchanged (found by its name: a moved TUITUNE_HOME keeps its exports)."""
    if previous_verification(previous, source) is None:
        return {}
    kept = {}
    for entry in (previous or {}).get("files") or []:
        path = folder / Path(str(entry.get("path", ""))).name
        if entry.get("quant") in quants and path.is_file() and path.stat().st_size == entry.get("bytes"):
            kept[str(entry["quant"])] = {**entry, "path": str(path)}
    return kept


def previous_verification(previous: dict[str, Any] | None, source: dict[str, Any]) -> dict[str, Any] | None:
    """The last export's verification when it passed, of a file built from this source."""
    if not previous or previous.get("status") != "passed" or previous.get("source") != source:
        return None
    verification = previous.get("verification")
    return verification if isinstance(verification, dict) else None


def _marker(path: Path) -> Path:
    return path / MARKER if path.is_dir() or not path.suffix else path.with_name(path.name + ".source.json")


def _files(path: Path) -> dict[str, list[int]]:
    """Each file's size and modification time (ns), by its path inside ``path`` (markers and the
    GGUF kept beside the weights left out); lists, as they come back from JSON."""
    if path.is_file():
        stat = path.stat()
        return {path.name: [stat.st_size, stat.st_mtime_ns]}
    if not path.is_dir():
        return {}
    found = {}
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.name != MARKER and not f.name.endswith((".source.json", ".gguf", ".partial")):
            stat = f.stat()
            found[str(f.relative_to(path))] = [stat.st_size, stat.st_mtime_ns]
    return found
