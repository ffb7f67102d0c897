"""``tuitune sweep PRESET --param KEY=V1,V2 [...] [-s KEY=VALUE ...] [--trials N [--random]] [--json]``:
a grid (every combination), or Optuna's TPE (or random) search over ``--trials N`` trials. Each
trial is an ordinary queued run tagged with the sweep's id (tuitune/runs/sweep.py); this command
follows them as they run and prints a ranking by best validation loss.

``--json`` prints only ``{"sweep": ID, "trials": [{"run", "params", "eval_loss", "status"}], "best": RUN}``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tuitune.cli.follow import EXIT_FAILED, EXIT_INTERRUPTED, say


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="try several values of preset keys, one queued run per trial, and rank them")
    p.add_argument("preset", nargs="?", help="the preset TOML file")
    p.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2",
                   help="a key and the values to try (repeatable); with --trials, KEY=LOW..HIGH is a range")
    p.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset key for every trial (repeatable)")
    p.add_argument("--trials", type=int, metavar="N", help="search with Optuna's TPE sampler over N trials (not a grid)")
    p.add_argument("--random", action="store_true", help="with --trials: random search instead of TPE")
    p.add_argument("--show", metavar="SWEEP", help="print an existing sweep's ranking and return")
    p.add_argument("--json", action="store_true", help="print only the result as one JSON object")
    p.add_argument("--detach", action="store_true", help="queue the trials and return at once")


def cmd_sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tuitune.runs import sweep

    if args.show:
        return _report(sweep.find_sweep(args.show), args)
    if not args.preset:
        raise sweep.SweepError("tuitune sweep: give the preset file (or --show SWEEP)")
    if args.random and not args.trials:
        raise sweep.SweepError("--random needs --trials N (a grid tries every combination)")
    mode = "grid" if not args.trials else "random" if args.random else "tpe"
    params = [sweep.parse_param(p) for p in args.param]
    from tuitune.preset import load_preset

    base = load_preset(args.preset, args.overrides)
    made = sweep.create_sweep(Path(args.preset), params, list(args.overrides), mode, args.trials, base.name)
    runs = _queue_trials(made, base, made.spec()["trials"])
    say(args, f"sweep {made.id}: {len(runs)} trials ({mode}) over "
              + ", ".join(f"{p.key} in {p.values}" for p in params) + "; trials are queued runs (`tuitune queue`)")
    if args.detach:
        return 0
    try:
        _wait(made, args)
    except KeyboardInterrupt:
        say(args, f"detached; the trials go on in the queue. `tuitune sweep --show {made.id}` ranks them.")
        return EXIT_INTERRUPTED
    return _report(made, args)


def _queue_trials(made: Any, base: Any, count: int) -> list[Any]:
    from tuitune.runs import actions, queue, sweep
    from tuitune.runs.preflight import preflight
    from tuitune.runs.store import create_run

    preflight(base)  # the data and model once, for every trial
    actions.check_fits(base)
    device = queue.device_of(base)
    runs = []
    for _ in range(count):
        run = create_run(base)
        sweep.add_trial(made, run)
        queue.add(run, device)
        runs.append(run)
    queue.kick()
    return runs


def _wait(made: Any, args: argparse.Namespace) -> None:
    """Follow the trials as they start and end, one line each (the queue runs them in order)."""
    from tuitune.runs import queue, sweep
    from tuitune.runs.workers import wait_until

    seen: dict[str, str] = {}

    def progress() -> bool:
        queue.kick()
        for row in sweep.trial_rows(made):
            if seen.get(row["run"]) != row["status"]:
                seen[row["run"]] = row["status"]
                loss = f", best validation loss {row['eval_loss']:.4f}" if row["eval_loss"] is not None else ""
                params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
                say(args, f"  trial {row['run']}: {row['status']}{' (' + params + ')' if params else ''}{loss}")
        return sweep.finished(made)

    wait_until(progress, every=1.0)


def _report(made: Any, args: argparse.Namespace) -> int:
    from tuitune.runs import sweep

    outcome = sweep.result(made)
    if args.json:
        print(json.dumps(outcome))
    else:
        print(f"sweep {made.id}: ranking by best validation loss")
        for i, row in enumerate(outcome["trials"], 1):
            loss = f"{row['eval_loss']:.4f}" if row["eval_loss"] is not None else "-"
            params = "  ".join(f"{k}={v}" for k, v in row["params"].items())
            extra = ""
            if row.get("eval"):
                extra = "  eval " + " ".join(f"{k}={v:.3g}" for k, v in row["eval"].items() if isinstance(v, (int, float)))
            print(f"{i:3}. {row['run']}  {row['status']:8} val loss {loss}  {params}{extra}")
        print(f"best: {outcome['best']}" if outcome["best"] else "best: none (no trial finished with a validation loss)")
    sys.stdout.flush()
    return 0 if outcome["best"] else EXIT_FAILED


COMMANDS = {"sweep": cmd_sweep}
