"""Extending a finished run: N more steps (or epochs) of the same run, from its final weights and
optimizer state, in the same run directory, its events numbered on.

``extend.json`` in the run says what was asked (``{"from_step", "steps" | "epochs", "export"}``);
the worker reads it, trains to ``from_step + steps`` (epochs become steps over the run's own
data and batching), and builds the learning-rate schedule of the extension afresh over the new
steps (tuitune/train/extend_schedule.py; docs/experiments.md says why). A stopped extension
resumes like any run: the file stays until the next extension replaces it.

Light core: no torch.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from tuitune.paths import atomic_write_text
from tuitune.runs.store import RunDir

FILE = "extend.json"


def read(run: RunDir) -> dict[str, Any] | None:
    try:
        data = json.loads((run.path / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "from_step" in data else None


def write(run: RunDir, from_step: int, steps: int | None, epochs: float | None, export: bool) -> dict[str, Any]:
    ask = {"from_step": from_step, "steps": steps, "epochs": epochs, "export": export, "asked_at": time.time()}
    atomic_write_text(run.path / FILE, json.dumps(ask, indent=2) + "\n")
    return ask


def added_steps(ask: dict[str, Any], train_rows: int, batch_size: int, grad_accum: int) -> int:
    """The optimizer steps the extension adds: ``steps``, or ``epochs`` over the run's own data
    with its own effective batch (at least one)."""
    if ask.get("steps"):
        return int(ask["steps"])
    per_epoch = math.ceil(train_rows / max(1, batch_size * grad_accum))
    return max(1, math.ceil(float(ask["epochs"]) * per_epoch))


def export_after(run: RunDir) -> bool:
    """Whether the preset's ``[export]`` runs when training ends: always for a run's first
    training; after an extension only when asked (``--export``), as the old export stays valid
    for the old weights and a new one takes minutes."""
    ask = read(run)
    return ask is None or bool(ask.get("export"))
