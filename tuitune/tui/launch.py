"""The TUI's side of the run actions: the actions themselves are :mod:`tuitune.runs.actions`,
the one copy both fronts call; here the app tracks the worker processes it started.

:class:`WorkerProcesses` keeps them so that the app can reap them and hand a run's live worker
to the action, which then knows about a worker that has not taken the run's lock yet. Workers
run in their own session: quitting the TUI leaves them running, and reopening it re-attaches
from the files. UI-free; screens call these and show :func:`user_errors` as notifications.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tuitune.errors import TuituneError
from tuitune.runs import actions

if TYPE_CHECKING:  # the run store imports pydantic (0.1 s): not before the first frame
    from tuitune.runs.actions import Started
    from tuitune.runs.store import RunDir


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


def launch(preset_path: str | Path, processes: WorkerProcesses, overrides: list[str] | None = None) -> Started:
    """:func:`tuitune.runs.actions.launch` of a preset file. Slow on big data: call it from a thread."""
    from tuitune.preset import load_preset

    started = actions.launch(load_preset(preset_path, overrides or []))
    processes.track(started.run, started.process)
    return started


def training_on(preset_path: str | Path, overrides: list[str] | None = None) -> str | None:
    """The run that trains on the device this preset would train on, or None when it is free
    (the TUI then asks whether to queue the new run after it)."""
    from tuitune.preset import load_preset
    from tuitune.runs import queue

    busy = queue.busy(queue.device_of(load_preset(preset_path, overrides or [])))
    return busy.id if busy is not None else None


def launch_queued(preset_path: str | Path, processes: WorkerProcesses,
                  overrides: list[str] | None = None) -> Started | actions.Queued:
    """:func:`tuitune.runs.actions.launch_or_queue` of a preset file (``tuitune run --queue``)."""
    from tuitune.preset import load_preset

    outcome = actions.launch_or_queue(load_preset(preset_path, overrides or []))
    if isinstance(outcome, actions.Started):
        processes.track(outcome.run, outcome.process)
    return outcome


def resume(run: RunDir, processes: WorkerProcesses) -> Started:
    started = actions.resume(run, processes.alive(run.id))
    processes.track(run, started.process)
    return started


def extend(run: RunDir, processes: WorkerProcesses, steps: int) -> Started:
    started = actions.extend(run, steps=steps, process=processes.alive(run.id))
    processes.track(run, started.process)
    return started


def stop(run: RunDir, processes: WorkerProcesses) -> None:
    actions.stop(run, processes.alive(run.id))


def export(run: RunDir, processes: WorkerProcesses, quants: list[str] | None = None,
           ollama: bool | None = None) -> list[str]:
    """:func:`tuitune.runs.actions.export`; returns the GGUF types it writes."""
    started = actions.export(run, quants, ollama, processes.alive(run.id))
    processes.track(run, started.process)
    return started.quants


def delete(run: RunDir, processes: WorkerProcesses) -> None:
    actions.delete(run, processes.alive(run.id))
