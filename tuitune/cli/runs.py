"""``tuitune runs list | show | resume | stop | delete | name | note``: the runs under $TUITUNE_HOME/runs.

Resume, stop, delete, name and note are :mod:`tuitune.runs.actions`, the one copy the TUI uses too; this
module parses, asks (delete's confirmation), prints and follows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tuitune.cli.follow import add_follow_args, follow_run, say


def add_commands(sub: argparse._SubParsersAction) -> None:
    runs = sub.add_parser("runs", help="list, show, stop, resume, delete, name and annotate runs")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    ls = runs_sub.add_parser("list", help="all runs, oldest first")
    ls.add_argument("--json", action="store_true", help="one JSON object per run")
    show = runs_sub.add_parser("show", help="one run's state and last events")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    resume = runs_sub.add_parser("resume", help="continue a stopped, failed or crashed run from its last checkpoint")
    resume.add_argument("run_id")
    resume.add_argument("--from-scratch", action="store_true",
                        help="train again from step 0 a run whose checkpoints are all gone")
    add_follow_args(resume)
    extend = runs_sub.add_parser("extend", help="train a finished run further: more steps of the same run, "
                                                "from its final weights and optimizer state")
    extend.add_argument("run_id")
    more = extend.add_mutually_exclusive_group(required=True)
    more.add_argument("--steps", type=int, metavar="N", help="this many more optimizer steps")
    more.add_argument("--epochs", type=float, metavar="N", help="this many more passes over the run's data")
    extend.add_argument("--export", action="store_true", help="redo the preset's [export] when it is done")
    add_follow_args(extend)
    stop = runs_sub.add_parser("stop", help="stop a running run after its current step (a checkpoint is saved)")
    stop.add_argument("run_id")
    delete = runs_sub.add_parser("delete", help="delete a run's folder (checkpoints, exports, chats); not while it runs")
    delete.add_argument("run_id")
    delete.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    name = runs_sub.add_parser("name", help="give a run a name, shown beside its id (\"\" removes it)")
    name.add_argument("run_id")
    name.add_argument("text")
    note = runs_sub.add_parser("note", help="write a note on a run, shown by list and show (\"\" removes it)")
    note.add_argument("run_id")
    note.add_argument("text")


def cmd_runs(args: argparse.Namespace) -> int:
    return _ACTIONS[args.runs_command](args)


def runs_list(args: argparse.Namespace) -> int:
    from tuitune.runs.label import read_label
    from tuitune.runs.store import RunStoreError, list_runs

    rows: list[dict[str, Any]] = []
    for run in list_runs():
        label = read_label(run.path)
        try:
            state, status = run.read_state(), run.status()
        except RunStoreError as e:
            rows.append({"id": run.id, "status": "unreadable", "message": str(e)})
            continue
        rows.append({"id": run.id, "name": label.name, "note": label.note, "status": status, "step": state.step,
                     "total_steps": state.total_steps, "loss": state.loss, "created_at": state.created_at,
                     "path": str(run.path)})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print("no runs yet; start one with `tuitune run PRESET` or `tuitune demo`")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("run", "name", "status", "step", "loss", "created", "note")
    for r in rows:
        step = f"{r.get('step', '')}/{r.get('total_steps') or '?'}"
        loss = f"{r['loss']:.4f}" if r.get("loss") is not None else ""
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"])) if "created_at" in r else ""
        note = r.get("note") or ""
        note = note.splitlines()[0][:40] + ("…" if len(note) > 40 or "\n" in note else "") if note else ""
        table.add_row(r["id"], r.get("name", ""), r["status"], step, loss, created, note)
    Console().print(table)
    return 0


def runs_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tuitune.events import read_events
    from tuitune.runs.checkpoints import complete_checkpoints
    from tuitune.runs.label import read_label
    from tuitune.runs.store import find_run

    run = find_run(args.run_id)
    state = run.read_state()
    label = read_label(run.path)
    info = {"id": run.id, "name": label.name, "note": label.note, "path": str(run.path), **asdict(state),
            "status": run.status(),
            "checkpoints": [p.name for p in complete_checkpoints(run.checkpoints)]}
    events = read_events(run.events)
    if args.json:
        from tuitune.runs.evals import eval_dir, latest

        print(json.dumps({**info, "events": len(events), "evaluation": latest(eval_dir(run))}))
        return 0
    for key, value in info.items():
        print(f"{key:16} " + str(value).replace("\n", "\n" + " " * 17))
    losses = [e["loss"] for e in events if e["type"] == "step" and "loss" in e]
    if losses:
        print(f"{'loss':16} {losses[0]:.4f} → {losses[-1]:.4f} over {len(losses)} logged steps")
    evals = [(e["step"], e["loss"]) for e in events if e["type"] == "eval" and "loss" in e]
    if evals:
        print(f"{'validation loss':16} " + ", ".join(f"{loss:.4f} (step {step})" for step, loss in evals))
    from tuitune.runs.event_text import describe

    for kind in ("speed", "offload"):  # the switches the run trained with, the last attempt's
        last = [e for e in events if e["type"] == kind][-1:]
        for e in last:
            print(describe(e))
    from tuitune.cli.run_show import show_evaluation, show_guidance, show_samples, show_warnings

    show_guidance(run.path)
    tensorboard = run.path / "tensorboard"
    if tensorboard.is_dir():
        print(f"{'tensorboard':16} tensorboard --logdir {tensorboard}")
    from tuitune.runs import queue, sweep

    if info["status"] == "queued" and (place := queue.position(run)) is not None:
        print(f"{'queue':16} place {place} (`tuitune queue` shows it)")
    if (tag := sweep.read_tag(run)) is not None:
        number = f" trial #{tag['trial'] + 1}" if tag.get("trial") is not None else ""
        values = ", ".join(f"{k}={v}" for k, v in (tag.get("params") or {}).items())
        print(f"{'sweep':16} {tag['sweep']}{number}{' (pruned)' if tag.get('pruned') else ''} {values}".rstrip())
    for e in [e for e in events if e["type"] == "energy"][-1:]:
        print(f"{'energy':16} {e.get('message')}")
    for e in [e for e in events if e["type"] == "extend"]:
        print(f"{'extended':16} steps {e['from_step']} → {e['to_step']} (+{e['added']}, warmup {e['warmup_steps']})")
    show_warnings(events)
    show_samples(run.path)
    show_evaluation(run)
    return 0


def runs_resume(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import find_run

    started = actions.resume(find_run(args.run_id), from_scratch=args.from_scratch)
    for note in started.notes:
        say(args, note)
    run = started.run
    say(args, f"resuming run {run.id}")
    if args.detach:
        return 0
    return follow_run(run, started.process, args)


def runs_extend(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import find_run

    started = actions.extend(find_run(args.run_id), steps=args.steps, epochs=args.epochs, export=args.export)
    run = started.run
    more = f"{args.steps} steps" if args.steps else f"{args.epochs:g} epochs"
    say(args, f"extending run {run.id} by {more} from step {run.read_state().step}")
    if args.detach:
        return 0
    return follow_run(run, started.process, args, from_start=False)


def runs_stop(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import find_run

    run = find_run(args.run_id)
    pid = actions.stop(run)
    print(f"asked worker {pid} to stop run {run.id} after its current step")
    return 0


def runs_delete(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import RunStoreError, find_run, run_size

    run = find_run(args.run_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise RunStoreError(f"deleting run {run.id} needs confirmation: add --yes (stdin is not a terminal)")
        try:
            answer = input(f"Delete run {run.id} and all its files ({run_size(run) / 2**20:.1f} MiB in {run.path})? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    actions.delete(run)
    print(f"deleted run {run.id} ({run.path})")
    return 0


def runs_label(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import find_run

    run = find_run(args.run_id)
    if args.runs_command == "name":
        actions.label(run, name=args.text)
    else:
        actions.label(run, note=args.text)
    done = "removed" if not args.text.strip() else "set"
    print(f"run {run.id}: {args.runs_command} {done}")
    return 0


_ACTIONS = {"list": runs_list, "show": runs_show, "resume": runs_resume, "extend": runs_extend, "stop": runs_stop,
            "delete": runs_delete, "name": runs_label, "note": runs_label}
COMMANDS = {"runs": cmd_runs}
