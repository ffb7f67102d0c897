"""Which checkpoints are complete, and which one to resume from.

Hugging Face writes ``checkpoint-N/`` in place and resumes from the highest number without
checking it is whole, so a kill during a save would break resume. Our trainers (see
train/trainer_base.py) write each checkpoint into ``checkpoints/.staging/``, fsync it, put our
marker in it and only then rename it into place; and a checkpoint counts only with the marker.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tuitune.errors import TuituneError

MARKER = "tuitune-complete.json"
STAGING = ".staging"
_NAME = re.compile(r"^checkpoint-(\d+)$")


class CheckpointSaveError(TuituneError):
    """A checkpoint could not be written (a full disk, say); the previous ones are untouched."""


def fsync_tree(folder: Path) -> None:
    """Flush every file in ``folder`` and the folders themselves to disk, so that a rename
    that publishes it never points at data still in the page cache."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mark_complete(checkpoint: Path, step: int) -> None:
    marker = checkpoint / MARKER
    with open(marker, "w", encoding="utf-8") as f:
        json.dump({"step": step}, f)
        f.flush()
        os.fsync(f.fileno())


def complete_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = _NAME.match(child.name)
        if match and (child / MARKER).exists():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def latest_checkpoint(folder: Path) -> Path | None:
    complete = complete_checkpoints(folder)
    return complete[-1] if complete else None


def checkpoint_step(checkpoint: Path) -> int:
    match = _NAME.match(checkpoint.name)
    return int(match.group(1)) if match else 0
