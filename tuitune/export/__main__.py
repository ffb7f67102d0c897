"""The export worker. Reads the run's config.toml and its adapter/ or model/, writes merged/
and gguf/, appends to events.jsonl. Exit codes: 0 exported and verified, 1 failed, 3 busy."""

from __future__ import annotations

import argparse
import sys
import traceback

from tuitune.events import EventWriter
from tuitune.runs.store import RunDir, RunStoreError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuitune.export")
    parser.add_argument("run_dir")
    parser.add_argument("--quant", default=None, help="comma-separated GGUF types (default: the preset's)")
    parser.add_argument("--no-ollama", action="store_true")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    try:
        lock = run.acquire()
    except (RunStoreError, FileNotFoundError) as e:
        print(f"tuitune export: {e}", file=sys.stderr)
        return 3
    with lock, EventWriter(run.events) as events:
        preset = run.preset()
        quants = args.quant.split(",") if args.quant else list(preset.export.gguf)
        ollama = preset.export.ollama and not args.no_ollama
        return run_export(run, quants, ollama, events)


def run_export(run: RunDir, quants: list[str], ollama: bool, events: EventWriter) -> int:
    """The export worker's whole life: export, then the closing ``finished`` event."""
    status = export_stage(run, quants, ollama, events)
    events.emit("finished", sync=True, stage="export", status=status, report=str(run.path / "gguf" / "report.json"))
    return 0 if status == "passed" else 1


def export_stage(run: RunDir, quants: list[str], ollama: bool, events: EventWriter) -> str:
    """Export in this process (the training worker calls this after training, too);
    returns ``passed`` or ``failed``, with an ``error`` event saying why."""
    from tuitune.errors import explain

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


if __name__ == "__main__":
    raise SystemExit(main())
