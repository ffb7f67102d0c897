"""One rank of a multi-process run: ``python -m tuitune.train.rank RUN_DIR``, started by
accelerate's launcher for the supervisor (train/distributed.py), never by hand.

Every rank runs the same training stage as a one-process run (train/sft.py, dpo.py); rank 0
writes the events and the state, the others a silent view of the run (train/ranks.py). Each
leaves ``launch/outcome-<rank>.json`` saying how it ended; a rank without one died.

Signals: SIGUSR1 (from the supervisor) or SIGINT stops after the current step, all ranks at the
same one; SIGTERM keeps its default (the launcher ends the survivors with it when a rank died).
A rank whose supervisor is gone ends itself at once: it must never train on unseen.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback

from tuitune.errors import explain
from tuitune.events import EventWriter
from tuitune.paths import atomic_write_text
from tuitune.runs.store import RunDir
from tuitune.train import ranks
from tuitune.train.distributed import SUPERVISOR_ENV
from tuitune.train.stop import stop_requested

WATCH_SECONDS = 0.5


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not os.environ.get(ranks.RANK_ENV):
        print("usage: python -m tuitune.train.rank RUN_DIR (started by the tuitune worker through accelerate)",
              file=sys.stderr)
        return 2
    _watch_supervisor()
    run = RunDir(argv[0])
    main_rank = ranks.is_main()
    view = run if main_rank else ranks.RankView(run.path)
    events = EventWriter(run.events) if main_rank else ranks.SilentEvents()
    with events:
        _handle_stop(events)
        atomic_write_text(run.path / "launch" / f"rank-{ranks.rank()}.pid", f"{os.getpid()}\n")
        if (run.path / "launch" / "stop").exists():
            stop_requested.set()
        try:
            status = _train(view, events)
        except BaseException as e:  # noqa: BLE001 - the supervisor records the run's end from this
            traceback.print_exc()
            _record(run, {"status": "failed", "message": explain(e), "exception": type(e).__name__})
            return 1
    _record(run, {"status": status})
    return 0


def _train(run: RunDir, events) -> str:
    from tuitune.models.files import safety_warnings
    from tuitune.train.worker import _stage

    preset = run.preset()
    for warning in safety_warnings(preset):
        events.emit("warning", message=warning)
    return _stage(preset)(run, preset, events)


def _record(run: RunDir, outcome: dict) -> None:
    atomic_write_text(ranks.outcome_file(run), json.dumps(outcome) + "\n")


def _handle_stop(events) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            events.emit("status", status="stopping", signal=signal.Signals(signum).name)

    signal.signal(signal.SIGUSR1, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _watch_supervisor() -> None:
    """A daemon thread: when the supervisor (the run's worker) is gone, this rank dies too."""
    try:
        supervisor = int(os.environ[SUPERVISOR_ENV])
    except (KeyError, ValueError):
        return

    def watch() -> None:
        from tuitune.runs.store import pid_alive

        while pid_alive(supervisor):
            time.sleep(WATCH_SECONDS)
        print(f"tuitune rank {ranks.rank()}: the run's worker (pid {supervisor}) is gone; ending", file=sys.stderr,
              flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="tuitune-supervisor-watch", daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
