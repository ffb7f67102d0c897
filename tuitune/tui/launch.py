"""What the TUI does to runs, through the same core functions as the CLI: launch a preset
(preflight, create_run, start_worker), resume, stop, export, delete. UI-free; screens call
these and show :func:`user_errors` as notifications.

The app keeps the worker processes it started in :class:`WorkerProcesses`, so that it can reap
them and stop a run whose worker has not taken the run's lock yet. Workers run in their own
session: quitting the TUI leaves them running, and reopening it re-attaches from the files.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tuitune.errors import TuituneError

if TYPE_CHECKING:  # run_store imports pydantic (0.1 s): not before the first frame
    from tuitune.runs.store import RunDir


class ActionRefused(TuituneError):
    """An action that makes no sense for this run now; the message says why and what to do."""


def user_errors() -> tuple[type[BaseException], ...]:
    """What the TUI shows as a message, never a traceback: every user error, and OSError.

    OSError deliberately too (the CLI lets it through as a traceback, which a script wants to
    see): the TUI reads and writes files a person names while the app runs (a preset saved into
    a read-only folder, a data file removed while the form shows it), and an uncaught error in
    a screen would end the whole app, the workers' views with it."""
    return (TuituneError, OSError)


class WorkerProcesses:
    """The worker processes this app started, by run id."""

    def __init__(self) -> None:
        self._procs: dict[str, subprocess.Popen] = {}

    def track(self, run: RunDir, process: subprocess.Popen) -> None:
        self._procs[run.id] = process

    def alive(self, run_id: str) -> subprocess.Popen | None:
        process = self._procs.get(run_id)
        return process if process is not None and process.poll() is None else None

    def reap(self) -> None:
        """Collect exited workers (no zombies while the app runs)."""
        for run_id, process in list(self._procs.items()):
            if process.poll() is not None:
                del self._procs[run_id]


def demo_preset_path() -> Path:
    from tuitune.models.bundled import presets_dir

    return presets_dir() / "demo-cpu.toml"


def launch(preset_path: str | Path, processes: WorkerProcesses, overrides: list[str] | None = None) -> RunDir:
    """``tuitune run PRESET``: validate, preflight (bad data fails now, with no run created),
    create the run and start its worker. Slow on big data: call it from a thread."""
    from tuitune.preset import load_preset
    from tuitune.runs.preflight import preflight
    from tuitune.runs.store import create_run
    from tuitune.runs.workers import start_worker

    preset = load_preset(preset_path, overrides or [])
    preflight(preset)
    run = create_run(preset)
    processes.track(run, start_worker(run))
    return run


def resume(run: RunDir, processes: WorkerProcesses) -> None:
    """``tuitune runs resume``: continue from the last complete checkpoint."""
    from tuitune.runs.workers import check_resumable, start_worker

    if processes.alive(run.id):
        raise ActionRefused(f"run {run.id} is already starting or running")
    check_resumable(run)
    processes.track(run, start_worker(run))


def stop(run: RunDir, processes: WorkerProcesses) -> None:
    """``tuitune runs stop``: the worker stops after its current step, with a checkpoint.
    A worker this app just started may not hold the run yet: signal it directly then."""
    from tuitune.runs.workers import request_stop

    process = processes.alive(run.id)
    if process is not None and not run.is_locked():
        process.send_signal(signal.SIGTERM)
        return
    request_stop(run)


def check_exportable(run: RunDir) -> None:
    status = run.status()
    if status != "done":
        raise ActionRefused(f"run {run.id} is {status}: only finished (done) runs can be exported")


def export(run: RunDir, processes: WorkerProcesses, quants: list[str] | None = None,
           ollama: bool | None = None) -> list[str]:
    """``tuitune export RUN [--quant …] [--no-ollama]``: verified GGUF files of ``quants``
    (default: the preset's ``export.gguf``); returns the types asked for."""
    from tuitune.runs.workers import start_worker

    check_exportable(run)
    if processes.alive(run.id):
        raise ActionRefused(f"run {run.id} is already exporting")
    quants = list(run.preset().export.gguf) if quants is None else quants
    if not quants:
        raise ActionRefused(
            f"run {run.id}: no GGUF types chosen (its preset lists none in [export] gguf); "
            f"pick at least one, or `tuitune export {run.id} --quant q8_0`"
        )
    args = ["--quant", ",".join(quants)] + (["--no-ollama"] if ollama is False else [])
    processes.track(run, start_worker(run, module="tuitune.export", args=args))
    return quants


def delete(run: RunDir, processes: WorkerProcesses) -> None:
    """``tuitune runs delete``: remove a run's folder, refusing while a worker holds it (or
    one this app just started has not taken the run yet)."""
    from tuitune.runs.store import delete_run

    if processes.alive(run.id):
        raise ActionRefused(f"run {run.id} is running; stop it (s) before deleting it")
    delete_run(run)
