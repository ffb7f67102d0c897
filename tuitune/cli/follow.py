"""Following a worker from the command line: the live display (or JSON events), Ctrl-C as
"stop after this step", and the closing report with its exit code. Used by run, demo,
runs resume and export."""

from __future__ import annotations

import argparse
import sys

EXIT_FAILED, EXIT_INTERRUPTED = 1, 130


def add_follow_args(p: argparse.ArgumentParser) -> None:
    """--json and --detach, for every command that starts a worker and follows it."""
    p.add_argument("--json", action="store_true", help="print events as JSON Lines instead of a progress display")
    p.add_argument("--detach", action="store_true", help="start the worker and return at once")


def follow_queued(run, args: argparse.Namespace) -> int:
    """Wait while ``run`` is queued (Ctrl-C leaves it queued), then follow it as it trains."""
    from tuitune.runs import queue
    from tuitune.runs.workers import POLL_SECONDS, wait_until

    try:
        wait_until(lambda: run.read_state().status != "queued" or run.is_locked(), every=max(POLL_SECONDS, 1.0),
                   tick=queue.kick)
    except KeyboardInterrupt:
        say(args, f"run {run.id} stays queued; `tuitune queue` shows it.")
        return EXIT_INTERRUPTED
    say(args, f"run {run.id} started from the queue")
    return follow_run(run, None, args)


def follow_run(run, process, args: argparse.Namespace, from_start: bool = True) -> int:
    import signal

    from tuitune.cli.display import RunDisplay, print_json_events
    from tuitune.runs.workers import follow

    # Ctrl-C and a polite kill both mean "stop the run after this step". Set explicitly: a shell
    # that starts us in the background leaves SIGINT ignored, and Python then never raises
    # KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    stopping = False
    while True:
        try:
            if args.json:
                print_json_events(follow(run, process, from_start=from_start and not stopping))
            else:
                with RunDisplay() as display:
                    for event in follow(run, process, from_start=from_start and not stopping):
                        display.handle(event)
            break
        except KeyboardInterrupt:
            if stopping:
                say(args, f"detached; the worker goes on. `tuitune runs show {run.id}` shows it.")
                return EXIT_INTERRUPTED
            stopping = True
            say(args, "stopping after the current step (Ctrl-C again to detach)…")
            stop(run, process)
    if process is not None:
        process.wait()
    return report(run, args)


def stop(run, process) -> None:
    """Ask the worker to stop (:func:`tuitune.runs.actions.stop`: through our own child when we
    started it, as it may not hold the run's lock yet, else through the pid the run records)."""
    from tuitune.runs import actions
    from tuitune.runs.store import RunStoreError

    try:
        actions.stop(run, process)
    except RunStoreError:
        pass  # already finished: follow() reads its last events


def report(run, args: argparse.Namespace) -> int:
    state = run.read_state()
    status = run.status()
    if status == "done":
        say(args, f"done: run {run.id} ({state.step} steps, final loss {state.loss})")
        return 0
    if status == "stopped":
        say(args, f"stopped at step {state.step}. Continue with: tuitune runs resume {run.id}")
        return EXIT_INTERRUPTED
    say(args, f"run {run.id} {status}: {state.message or 'see ' + str(run.log)}")
    return EXIT_FAILED


def say(args: argparse.Namespace, text: str) -> None:
    # With --json, stdout carries only events; people's messages go to stderr.
    print(text, file=sys.stderr if getattr(args, "json", False) else sys.stdout, flush=True)


def follow_export(run, process, args: argparse.Namespace) -> int:
    import signal

    from tuitune.cli.display import RunDisplay, print_json_events
    from tuitune.runs.workers import follow

    if args.json:
        print_json_events(follow(run, process, from_start=False))
    else:
        with RunDisplay() as display:
            for event in follow(run, process, from_start=False):
                display.handle(event)
    code = process.wait()
    if not report_export(run, args) and code != 0:
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        say(args, f"the export worker died ({how}) before finishing; nothing it wrote is vouched for. "
                  f"`tuitune export {run.id}` starts it again (details in {run.log})")
    return 0 if code == 0 else EXIT_FAILED


def report_export(run, args: argparse.Namespace) -> bool:
    """Print the export's report (the lines the TUI's export screen shows) and its verdict;
    False when the export left no readable report."""
    from tuitune.runs.export_report import read_report, report_lines, report_path

    report = read_report(report_path(run.path))
    if report is None:
        return False
    for line in report_lines(report):
        say(args, f"  {line}")
    say(args, f"export {report.get('status')}: report in {report_path(run.path)}")
    return True
