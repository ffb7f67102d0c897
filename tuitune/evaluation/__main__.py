"""``python -m tuitune.evaluation TARGET [--data FILE] [--base | --no-base] [--no-general] [--budget S] [--lm-eval TASKS]``

Messages on stdout, one JSON object a line (library chatter goes to stderr):
``{"progress": done, "of": n, "what": ...}``, ``{"note": ...}``, and last ``{"result": PATH}``,
``{"skipped": why}`` (over ``--budget``) or ``{"error": message}``.

Exit codes: 0 written (or skipped), 1 failed, 2 bad input (the message says what to fix).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any

from tuitune.errors import EXIT_USER_ERROR, TuituneError, explain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuitune.evaluation")
    parser.add_argument("target")
    parser.add_argument("--data", default=None)
    parser.add_argument("--base", action="store_true", help="score the base side only")
    parser.add_argument("--no-base", action="store_true", help="leave out a run's base side")
    parser.add_argument("--no-general", action="store_true")
    parser.add_argument("--general-limit", type=int, default=None, help="the first N items of each part of the general set")
    parser.add_argument("--budget", type=float, default=None, help="give up (writing nothing) past this many seconds")
    parser.add_argument("--lm-eval", default=None, help="comma-separated lm-evaluation-harness tasks")
    parser.add_argument("--lm-eval-include", default=None, help="a folder of local task definitions")
    parser.add_argument("--lm-eval-limit", type=int, default=None)
    args = parser.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr  # what libraries print must not corrupt the messages

    def tell(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    from tuitune.evaluation.evaluate import OverBudget, plan, run

    try:
        p = plan(args.target, args.data, args.base, general=not args.no_general and not args.lm_eval,
                 general_limit=args.general_limit, with_base=not args.no_base)
        for note in p.notes:
            tell({"note": note})
        if args.lm_eval:
            from tuitune.evaluation.lm_eval_bridge import run_lm_eval

            path = run_lm_eval(p, args.lm_eval, tell, include=args.lm_eval_include, limit=args.lm_eval_limit)
        else:
            path = run(p, tell, args.budget)
    except OverBudget as e:
        tell({"skipped": str(e)})
        return 0
    except TuituneError as e:
        tell({"error": str(e)})
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001 - the front shows the message; the traceback goes to the log
        traceback.print_exc()
        tell({"error": f"the evaluation failed: {explain(e)}"})
        return 1
    tell({"result": str(path)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
