"""Which checkpoints are complete, and which one to resume from.

Hugging Face writes ``checkpoint-N/`` in place and resumes from the highest number without
checking it is whole, so a kill during a save would break resume. A checkpoint counts only once
our marker, written and fsynced after the save returned, is in it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

MARKER = "tuitune-complete.json"
_NAME = re.compile(r"^checkpoint-(\d+)$")


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
