"""The export worker: ``python -m tuitune.export RUN_DIR [--quant …] [--no-ollama]``. Reads the
run's config.toml and its adapter/ or model/, writes merged/ and gguf/, appends to events.jsonl.

With ``--after-training`` it is the training worker's child, started when the preset lists GGUF
types: that worker keeps the run (its lock) and writes the closing ``finished`` event, so this
process neither takes the run nor writes ``finished``. Training and export stay independent:
neither package imports the other.

Exit codes: 0 exported and verified, 1 failed, 3 busy (or, after training, the run not held).
"""

from __future__ import annotations

import argparse
import sys

from tuitune.events import EventWriter
from tuitune.export.stage import export_stage
from tuitune.runs.store import RunDir, take_run
from tuitune.runs.workers import EXIT_BUSY

EXIT_PASSED, EXIT_FAILED = 0, 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuitune.export")
    parser.add_argument("run_dir")
    parser.add_argument("--quant", default=None, help="comma-separated GGUF types (default: the preset's)")
    parser.add_argument("--no-ollama", action="store_true")
    parser.add_argument("--after-training", action="store_true",
                        help="started by the training worker, which holds the run and closes its events")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    if args.after_training:
        return _after_training(run, args)
    lock = take_run(run, "tuitune export")
    if lock is None:
        return EXIT_BUSY
    with lock, EventWriter(run.events) as events:
        quants, ollama = _choice(run, args)
        return run_export(run, quants, ollama, events)


def run_export(run: RunDir, quants: list[str], ollama: bool, events: EventWriter) -> int:
    """The export worker's whole life: export, then the closing ``finished`` event."""
    status = export_stage(run, quants, ollama, events)
    events.emit("finished", sync=True, stage="export", status=status, report=str(run.path / "gguf" / "report.json"))
    return EXIT_PASSED if status == "passed" else EXIT_FAILED


def _after_training(run: RunDir, args: argparse.Namespace) -> int:
    """Export for the training worker, our parent: the run is its to hold, the events its to close."""
    _die_with_parent()
    if not run.is_locked():  # the parent is gone (or this was started by hand): not our run to write
        print("tuitune export: --after-training is for the training worker, which holds the run; "
              f"export a finished run with `tuitune export {run.id}`", file=sys.stderr)
        return EXIT_BUSY
    with EventWriter(run.events) as events:
        quants, ollama = _choice(run, args)
        status = export_stage(run, quants, ollama, events)
    return EXIT_PASSED if status == "passed" else EXIT_FAILED


def _choice(run: RunDir, args: argparse.Namespace) -> tuple[list[str], bool]:
    preset = run.preset()
    quants = args.quant.split(",") if args.quant else list(preset.export.gguf)
    return quants, preset.export.ollama and not args.no_ollama


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the training worker dies: a killed
    worker must not leave an export writing into a run it no longer holds (in one process, as
    it used to be, both died together). Elsewhere the lock check that follows is the guard."""
    import signal

    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux (no prctl)


if __name__ == "__main__":
    raise SystemExit(main())
