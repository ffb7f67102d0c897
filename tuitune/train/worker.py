"""The training worker: ``python -m tuitune.train RUN_DIR``.

Reads only ``RUN_DIR/config.toml`` and writes only inside ``RUN_DIR``. Whoever starts it (the
TUI, ``tuitune run``, a person) sees the same thing: events in events.jsonl, the status in
state.json, everything printed in worker.log. It resumes from the run's last complete
checkpoint when there is one. SIGINT or SIGTERM stops it after the current step, with a
checkpoint, and leaves the run ``stopped``.

Exit codes: 0 done or stopped, 1 failed, 3 the run is held by another worker.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback

from tuitune.events import EventWriter
from tuitune.run_store import RunDir, RunStoreError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tuitune.train RUN_DIR", file=sys.stderr)
        return 2
    run = RunDir(argv[0])
    try:
        lock = run.acquire()
    except (RunStoreError, FileNotFoundError) as e:
        print(f"tuitune worker: {e}", file=sys.stderr)
        return 3
    with lock, EventWriter(run.events) as events:
        return _run(run, events)


def _run(run: RunDir, events: EventWriter) -> int:
    from tuitune.train.callbacks import stop_requested

    def request_stop(signum: int, _frame: object) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            events.emit("status", status="stopping", signal=signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    state = run.read_state()
    state.status, state.pid, state.message = "running", os.getpid(), None
    state.started_at = state.started_at or time.time()
    state.attempts += 1
    state.finished_at = None
    run.write_state(state)
    events.emit("started", sync=True, pid=os.getpid(), run_id=run.id, attempt=state.attempts)

    try:
        status = _train(run, events)
    except BaseException as e:  # noqa: BLE001 - every failure must reach the run's record
        message = explain(e)
        traceback.print_exc()
        run.update_state(status="failed", message=message, finished_at=time.time(), pid=None)
        events.emit("error", sync=True, message=message, exception=type(e).__name__)
        events.emit("finished", sync=True, status="failed")
        return 1
    message = None if status == "done" else "stopped on request; `tuitune runs resume` continues it"
    run.update_state(status=status, message=message, finished_at=time.time(), pid=None)
    extra = {}
    preset = run.preset()
    if status == "done" and preset.export.gguf:
        from tuitune.export.__main__ import export_stage

        extra["export"] = export_stage(run, list(preset.export.gguf), preset.export.ollama, events)
    events.emit("finished", sync=True, status=status, **extra)
    return 0


def _train(run: RunDir, events: EventWriter) -> str:
    preset = run.preset()
    if preset.train.stage == "dpo":
        from tuitune.train.dpo import train_dpo

        return train_dpo(run, preset, events)
    from tuitune.train.sft import train_sft

    return train_sft(run, preset, events)


def explain(error: BaseException) -> str:
    """One message a person can act on."""
    from tuitune.bundled import BundledNotFound
    from tuitune.data.loader import DataError
    from tuitune.export.merge import ExportError
    from tuitune.preset import PresetError
    from tuitune.train.model_loading import ModelLoadError

    if isinstance(error, (DataError, ModelLoadError, BundledNotFound, PresetError, RunStoreError, ExportError)):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return (
            f"out of memory ({error}). Lower train.batch_size (raise train.grad_accum to keep the "
            "effective batch), lower train.max_seq_len, turn on train.gradient_checkpointing, or use "
            "method = 'qlora'; then `tuitune runs resume`."
        )
    return f"{type(error).__name__}: {error} (details in worker.log)"
