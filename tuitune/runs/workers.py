"""Start, follow, stop and resume worker processes. Used by both fronts (CLI and TUI).

Light core: the worker is a separate process, so nothing heavy is imported here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from tuitune.events import EventReader
from tuitune.runs.store import RunDir, RunStoreError

POLL_SECONDS = 0.25


def start_worker(run: RunDir, module: str = "tuitune.train", args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """Spawn ``python -m tuitune.train RUN_DIR`` in its own session (a Ctrl-C in the terminal
    reaches only the front, which then asks the worker to stop after a checkpoint)."""
    if run.is_locked():
        raise RunStoreError(f"run {run.id} is already running; `tuitune runs stop {run.id}` stops it")
    log = open(run.log, "ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Keep transformers and hub libraries quiet and offline-friendly in the log.
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(run.path), *(args or [])],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    finally:
        log.close()
    run.record_launch(process.pid)
    return process


def follow(
    run: RunDir,
    process: subprocess.Popen[bytes] | None = None,
    *,
    from_start: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the run's events as they arrive, until the worker has finished and all is read."""
    reader = EventReader(run.events)
    if not from_start:
        reader.read_new()
    while True:
        events = reader.read_new()
        yield from events
        if any(e["type"] == "finished" for e in events):
            return
        alive = process.poll() is None if process is not None else run.is_locked()
        if not alive:
            yield from reader.read_new()
            return
        if should_stop is not None and should_stop():
            return
        time.sleep(POLL_SECONDS)


def request_stop(run: RunDir) -> int:
    """Ask the worker of a run to stop after its current step; returns the pid signalled."""
    state = run.read_state()
    if not run.is_locked() or not state.pid:
        raise RunStoreError(f"run {run.id} is not running (status: {run.status()})")
    os.kill(state.pid, signal.SIGTERM)
    return state.pid


def rebuild_if_unreadable(run: RunDir) -> str | None:
    """Rebuild an unreadable state.json from the run's events (the old file is kept); returns a
    note saying so, or None when the state was fine."""
    try:
        run.read_state()
    except RunStoreError as e:
        kept = run.rebuild_state()
        return f"{e.args[0].split(';')[0]}: rebuilt it from events.jsonl (the unreadable file is kept as {kept.name})"
    return None


def check_resumable(run: RunDir) -> None:
    """Raise unless the run can be resumed (an unreadable state.json is rebuilt first)."""
    rebuild_if_unreadable(run)
    status = run.status()
    if run.is_locked():
        raise RunStoreError(f"run {run.id} is already running in another worker (pid {run.read_state().pid}); one worker per run")
    if status == "done":
        raise RunStoreError(f"run {run.id} is already done; start a new run to train more")
