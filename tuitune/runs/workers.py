"""Start, follow, stop and resume worker processes. Used by both fronts (CLI and TUI).

Light core: the worker is a separate process, so nothing heavy is imported here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tuitune.errors import disk_message
from tuitune.events import EventReader
from tuitune.runs.store import STARTING_FD_ENV, RunDir, RunStoreError

POLL_SECONDS = 0.25


EXIT_BUSY = 3
"""A worker's exit code when another worker holds its run (it changed nothing)."""


def start_worker(run: RunDir, module: str = "tuitune.train", args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """Spawn ``python -m tuitune.train RUN_DIR`` in its own session (a Ctrl-C in the terminal
    reaches only the front, which then asks the worker to stop after a checkpoint).

    One front at a time starts a worker for a run: the front takes the run's start lock and hands
    it to the worker, which lets go of it once it holds the run (:meth:`RunDir.starting`), so a
    second front asking meanwhile waits, then finds the run held and says so. A worker whose start
    cannot be recorded (a full disk) is stopped before the error is raised: no worker runs unseen."""
    with run.starting() as handoff:
        if run.is_locked():
            raise already_running(run)
        process = _spawn(run, module, args, handoff)
        try:
            run.record_launch(process.pid)
        except OSError as e:
            process.kill()
            process.wait()
            raise RunStoreError(f"run {run.id}: could not record the worker it started ({disk_message(e)}); "
                                "the worker was stopped and nothing else changed") from None
    return process


def reap_in_background(process: subprocess.Popen[bytes]) -> None:
    """Collect a worker's exit status when it ends, for a front that started it and does not wait
    on it (the queue's): else a long-lived front (the TUI, `tuitune sweep`) keeps every worker it
    started as a zombie process until it exits itself."""
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def already_running(run: RunDir) -> RunStoreError:
    return RunStoreError(f"run {run.id} is already running in another worker (pid {run.read_state().pid}); "
                         f"one worker per run (`tuitune runs stop {run.id}` stops it)")


def _spawn(run: RunDir, module: str, args: list[str] | None, handoff: int) -> subprocess.Popen[bytes]:
    log = open(run.log, "ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{STARTING_FD_ENV: str(handoff)})
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
            pass_fds=(handoff,),
        )
    finally:
        log.close()
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


def wait_until(done: Callable[[], bool], every: float = POLL_SECONDS, tick: Callable[[], object] | None = None) -> None:
    """Poll ``done`` (calling ``tick`` between polls) until it holds: a front waiting for a queued run."""
    while not done():
        if tick is not None:
            tick()
        time.sleep(every)


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


def check_resumable(run: RunDir, from_scratch: bool = False) -> None:
    """Raise unless the run can be resumed (an unreadable state.json is rebuilt first). A run
    that trained but has no complete checkpoint left would start again from step 0: that is
    done only when asked (``from_scratch``), never silently."""
    from tuitune.runs.checkpoints import latest_checkpoint

    rebuild_if_unreadable(run)
    status = run.status()
    if run.is_locked():
        raise already_running(run)
    if status == "done":
        raise RunStoreError(f"run {run.id} is already done; start a new run to train more")
    step = run.read_state().step
    if step > 0 and latest_checkpoint(run.checkpoints) is None and not from_scratch:
        raise RunStoreError(
            f"run {run.id} reached step {step}, but no complete checkpoint is left in {run.checkpoints}: "
            f"resuming would train it again from step 0; `tuitune runs resume {run.id} --from-scratch` does that"
        )
