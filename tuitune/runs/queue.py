"""The run queue: runs that wait (``queued``) for the device another run trains on.

No daemon keeps it: the order lives in ``$TUITUNE_HOME/queue.json`` (replaced atomically, every
change under ``queue.lock``), and whoever sees the device free starts the next run — the worker
that finishes (:func:`start_next`, the last thing ``python -m tuitune.train`` does), and every
front that shows or changes the queue (:func:`kick`), so a worker killed before it could start the
next one stalls the queue only until someone looks. A run that fails or crashes leaves the queue;
the next one starts all the same.

Devices are named as the worker names them (``cpu``, ``cuda``): two runs on one card would
compete for its memory, two on the CPU for its cores.

Light core: no torch; the run's worker is a separate process.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuitune.errors import TuituneError
from tuitune.paths import atomic_write_text, tuitune_home
from tuitune.runs.store import ACTIVE, RunDir, RunStoreError, find_run, pid_alive, runs_root


class QueueError(TuituneError):
    """A queue change that cannot be made; the message says why and what to do."""


@dataclass
class Entry:
    run: str
    device: str


def queue_file() -> Path:
    return tuitune_home() / "queue.json"


@contextmanager
def _locked() -> Iterator[None]:
    """Every read-change-write of the queue, and every start from it, under one lock: two
    workers finishing at once start one run, not two."""
    home = tuitune_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "queue.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _read() -> list[Entry]:
    try:
        data = json.loads(queue_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise QueueError(f"{queue_file()}: unreadable ({e}); the queued runs are untouched: "
                         "`tuitune queue clear` starts an empty queue") from None
    return [Entry(str(e["run"]), str(e.get("device", "cpu"))) for e in data.get("runs", []) if isinstance(e, dict)]


def _write(entries: list[Entry]) -> None:
    text = json.dumps({"runs": [{"run": e.run, "device": e.device} for e in entries]}, indent=2) + "\n"
    atomic_write_text(queue_file(), text)


def device_of(preset: Any) -> str:
    """The device a preset trains on, as the worker will say it (``auto``: a GPU if NVML sees one)."""
    device = preset.train.device
    if device != "auto":
        return str(device)
    from tuitune.hardware.nvml import gpu_report

    return "cpu" if not gpu_report().gpus else "cuda"


def busy(device: str, root: Path | None = None) -> RunDir | None:
    """The run training (or starting to) on ``device`` now, or None when it is free."""
    from tuitune.runs.busy import run_device
    from tuitune.runs.store import list_runs

    for run in list_runs(root):
        try:
            status = run.status()
            starting = status == "queued" and _launched(run)
            if (status in ACTIVE or starting) and run_device(run) == device:
                return run
        except (RunStoreError, OSError, ValueError):
            continue
    return None


def _launched(run: RunDir) -> bool:
    """A worker was started for this queued run and lives: it is starting, not waiting."""
    try:
        return pid_alive(int(run.launch_file.read_text().strip()))
    except (OSError, ValueError):
        return False


def entries() -> list[Entry]:
    """The queue in order, without runs that are gone or no longer waiting."""
    with _locked():
        return _prune(_read())


def _prune(queue: list[Entry]) -> list[Entry]:
    kept = []
    for e in queue:
        with suppress(RunStoreError, OSError):
            run = RunDir(runs_root() / e.run)
            if run.state_file.exists() and run.read_state().status == "queued" and not _launched(run):
                kept.append(e)
    return kept


def add(run: RunDir, device: str) -> int:
    """Put ``run`` (made by ``create_run``, so ``queued``) at the end; returns its position (1-based)."""
    with _locked():
        queue = [e for e in _prune(_read()) if e.run != run.id]
        queue.append(Entry(run.id, device))
        _write(queue)
        return len(queue)


def remove(ref: str) -> RunDir:
    """Take a run out of the queue; it stays as a ``stopped`` run that `tuitune runs resume` starts."""
    run = find_run(ref)
    with _locked():
        queue = _prune(_read())
        if run.id not in [e.run for e in queue]:
            raise QueueError(f"run {run.id} is not in the queue (status {run.status()}); `tuitune queue` lists it")
        _write([e for e in queue if e.run != run.id])
        run.update_state(status="stopped", message="removed from the queue; `tuitune runs resume` starts it")
    return run


def clear() -> list[str]:
    """Empty the queue; the runs it held stay, ``stopped``. Returns their ids."""
    with _locked():
        queue = _prune(_read())
        _write([])
        for e in queue:
            with suppress(RunStoreError, OSError):
                RunDir(runs_root() / e.run).update_state(
                    status="stopped", message="removed from the queue; `tuitune runs resume` starts it")
        return [e.run for e in queue]


def move(ref: str, to: int) -> int:
    """Move a queued run to position ``to`` (1-based; past the end means last); returns where it is."""
    run = find_run(ref)
    with _locked():
        queue = _prune(_read())
        mine = [e for e in queue if e.run == run.id]
        if not mine:
            raise QueueError(f"run {run.id} is not in the queue (status {run.status()}); `tuitune queue` lists it")
        if to < 1:
            raise QueueError(f"--to {to}: positions start at 1")
        rest = [e for e in queue if e.run != run.id]
        index = min(to, len(rest) + 1) - 1
        rest.insert(index, mine[0])
        _write(rest)
        return index + 1


def start_next(device: str | None = None) -> list[RunDir]:
    """Start the first queued run of each free device (only ``device``'s when given); returns the
    runs started. A run that cannot start (its folder broken) leaves the queue with a message
    and the next one is tried."""
    from tuitune.runs.workers import reap_in_background, start_worker

    started: list[RunDir] = []
    with _locked():
        queue = _prune(_read())
        devices = [device] if device else list(dict.fromkeys(e.device for e in queue))
        for dev in devices:
            if busy(dev) is not None:
                continue
            while (waiting := [e for e in queue if e.device == dev]):
                entry = waiting[0]
                queue.remove(entry)
                run = RunDir(runs_root() / entry.run)
                try:
                    _before_start(run)
                    reap_in_background(start_worker(run))
                except (TuituneError, OSError) as e:
                    with suppress(RunStoreError, OSError):
                        run.update_state(status="failed", message=f"could not start from the queue: {e}")
                    continue
                started.append(run)
                break
        _write(queue)
    return started


def _before_start(run: RunDir) -> None:
    """What a run needs settled at its start and not before: a sweep trial asks for its
    parameters now, when the earlier trials have reported (tuitune/runs/sweep.py)."""
    from tuitune.runs import sweep

    sweep.prepare_trial(run)


def kick() -> list[RunDir]:
    """Start what can start; never raises (a front calls it whenever it shows the queue)."""
    try:
        return start_next()
    except (TuituneError, OSError):
        return []


def position(run: RunDir) -> int | None:
    """The run's place in the queue (1-based), or None when it does not wait there."""
    for i, e in enumerate(entries(), 1):
        if e.run == run.id:
            return i
    return None
