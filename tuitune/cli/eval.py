"""``tuitune eval TARGET [--data FILE] [--base | --no-base] [--json]``: did it work? Base against tuned on the
task's rows (a run's validation split, or FILE) and on the general set, in the evaluation
worker (``python -m tuitune.evaluation``); progress on stderr, the table (or, with ``--json``,
``{"rows", "base", "tuned", "general", "per_row"}``) on stdout.

Exit codes: 0 evaluated, 1 the evaluation failed, 2 bad input (a target or a file it cannot use).
"""

from __future__ import annotations

import argparse
import json
import sys

from tuitune.errors import TuituneError


class EvalFailed(TuituneError):
    """The evaluation worker said what was wrong."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score base against tuned on your rows and on a general set (forgetting)")
    p.add_argument("target", help="a run id or folder, a .gguf file, or a model folder")
    p.add_argument("--data", metavar="FILE",
                   help="rows to score (any format `tuitune data` reads; default: the run's validation split)")
    sides = p.add_mutually_exclusive_group()
    sides.add_argument("--base", action="store_true", help="score only the base side (a run's base model)")
    sides.add_argument("--no-base", action="store_true",
                       help="leave out a run's base side (scored once, it need not be scored again)")
    p.add_argument("--no-general", action="store_true", help="leave out the general set")
    p.add_argument("--general-limit", type=int, metavar="N", help="only the first N items of each part of the general set")
    p.add_argument("--lm-eval", metavar="TASKS",
                   help="comma-separated lm-evaluation-harness tasks (pip install 'tuitune[lm-eval]')")
    p.add_argument("--lm-eval-include", metavar="DIR", help="a folder of your own lm-eval task definitions")
    p.add_argument("--lm-eval-limit", type=int, metavar="N", help="at most N documents per lm-eval task")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def cmd_eval(args: argparse.Namespace) -> int:
    from tuitune.runs import evals

    if args.data:
        evals.eval_rows(args.data)  # the importer's errors now, before a model loads
    extra = []
    if args.lm_eval_include:
        extra += ["--lm-eval-include", args.lm_eval_include]
    if args.general_limit:
        extra += ["--general-limit", str(args.general_limit)]
    if args.lm_eval_limit:
        extra += ["--lm-eval-limit", str(args.lm_eval_limit)]
    command = evals.eval_command(args.target, args.data, base_only=args.base, general=not args.no_general,
                                 lm_eval=args.lm_eval, extra=extra, with_base=not args.no_base)
    process = evals.start_eval(command)
    result = None
    try:
        for message in evals.messages(process):
            if "progress" in message:
                print(f"\r  {message['progress']}/{message['of']}  {message['what']:<40}", end="", file=sys.stderr, flush=True)
            elif "note" in message:
                print(f"note: {message['note']}", file=sys.stderr)
            elif "error" in message:
                print(file=sys.stderr)
                raise EvalFailed(message["error"])
            elif "skipped" in message:
                print(f"skipped: {message['skipped']}", file=sys.stderr)
                return 0
            elif "result" in message:
                result = message["result"]
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 130
    print(file=sys.stderr)
    if result is None:
        raise EvalFailed(f"the evaluation worker stopped without a result (exit code {process.returncode})")
    from pathlib import Path

    summary = evals.read(Path(result)) or {}
    if args.json:
        keys = ("rows", "base", "tuned", "general", "per_row") + (("lm_eval",) if "lm_eval" in summary else ())
        print(json.dumps({k: summary.get(k) for k in keys}, indent=2))
    else:
        print("\n".join(evals.summary_lines(summary)))
        print(f"  summary: {result}")
    return 0


COMMANDS = {"eval": cmd_eval}
