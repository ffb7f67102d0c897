"""``tuitune queue [list | remove ID | clear | move ID --to N]``: the runs waiting for their device
(tuitune/runs/queue.py). Every call first starts what can start, so a queue whose last worker was
killed goes on as soon as anyone looks at it."""

from __future__ import annotations

import argparse
import json


def add_commands(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser("queue", help="the runs waiting for their device: list, remove, clear, reorder")
    q.add_argument("--json", action="store_true", help="one JSON object per queued run")
    q_sub = q.add_subparsers(dest="queue_command", metavar="ACTION")
    ls = q_sub.add_parser("list", help="the queue in order (the default)")
    ls.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object per queued run")
    remove = q_sub.add_parser("remove", help="take a run out of the queue (it stays, stopped; `runs resume` starts it)")
    remove.add_argument("run_id")
    q_sub.add_parser("clear", help="take every run out of the queue")
    move = q_sub.add_parser("move", help="move a queued run to another place")
    move.add_argument("run_id")
    move.add_argument("--to", type=int, required=True, metavar="N", help="its new place, 1 = next to start")


def cmd_queue(args: argparse.Namespace) -> int:
    from tuitune.runs import queue

    for run in queue.kick():
        print(f"started run {run.id} from the queue")
    command = args.queue_command or "list"
    if command == "remove":
        run = queue.remove(args.run_id)
        print(f"run {run.id} left the queue (stopped; `tuitune runs resume {run.id}` starts it)")
    elif command == "clear":
        ids = queue.clear()
        print(f"queue cleared ({len(ids)} run{'s' if len(ids) != 1 else ''} stopped)")
    elif command == "move":
        print(f"run {args.run_id}: now at place {queue.move(args.run_id, args.to)} in the queue")
    else:
        return _list(getattr(args, "json", False))
    return 0


def _list(as_json: bool) -> int:
    from tuitune.runs import queue

    waiting = queue.entries()
    if as_json:
        for i, e in enumerate(waiting, 1):
            print(json.dumps({"position": i, "run": e.run, "device": e.device}))
        return 0
    if not waiting:
        print("the queue is empty; `tuitune run PRESET --queue` adds a run")
        return 0
    for i, e in enumerate(waiting, 1):
        behind = queue.busy(e.device)
        after = f" (after {behind.id}, training)" if i == 1 and behind else ""
        print(f"{i:3}  {e.run}  on {e.device}{after}")
    return 0


COMMANDS = {"queue": cmd_queue}
