"""The export stage: export a run and record the outcome in its events. The export worker runs
it for ``tuitune export`` and the TUI, and, with ``--after-training``, for the training worker
when the preset lists GGUF types (see tuitune/export/__main__.py)."""

from __future__ import annotations

import traceback

from tuitune.errors import explain
from tuitune.events import EventWriter
from tuitune.runs.store import RunDir


def export_stage(run: RunDir, quants: list[str], ollama: bool, events: EventWriter) -> str:
    """Export in this process; returns ``passed`` or ``failed``, with an ``error`` event saying why."""
    events.emit("status", status="exporting", quants=quants)
    try:
        from tuitune.export.pipeline import export_run

        report = export_run(run, quants, ollama, events)
    except Exception as e:  # noqa: BLE001 - every failure must reach the run's record
        traceback.print_exc()
        events.emit("error", sync=True, message=f"export failed: {explain(e)}")
        return "failed"
    if report["status"] != "passed":
        reasons = "; ".join(report["verification"]["reasons"])
        events.emit("error", sync=True, message=f"export verification failed: {reasons} (files kept in {run.path / 'gguf'})")
    return report["status"]
