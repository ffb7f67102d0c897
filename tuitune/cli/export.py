"""``tuitune export RUN [--quant …] [--ollama/--no-ollama]``: merge a finished run, write verified
GGUF files (and an Ollama Modelfile), following the export worker.

Its checks (a finished run, known types, at least one) are :func:`tuitune.runs.actions.export`'s,
the same the TUI's export screen makes. Exit codes: 0 exported and verified, 1 failed, 2 refused.
"""

from __future__ import annotations

import argparse

from tuitune.cli.follow import follow_export, say


def add_commands(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="merge a finished run and write verified GGUF files (+ Ollama Modelfile)")
    export.add_argument("run_id")
    export.add_argument("--quant", help="comma-separated types, e.g. q4_k_m,q8_0 (default: the preset's [export] gguf)")
    export.add_argument("--ollama", action=argparse.BooleanOptionalAction, default=None, help="write a Modelfile")
    export.add_argument("--json", action="store_true", help="print events as JSON Lines")


def cmd_export(args: argparse.Namespace) -> int:
    from tuitune.runs import actions
    from tuitune.runs.store import find_run

    run = find_run(args.run_id)
    quants = [q.strip().lower() for q in (args.quant or "").split(",") if q.strip()]
    started = actions.export(run, quants or None, args.ollama)  # none given: the preset's
    say(args, f"exporting run {run.id}")
    return follow_export(run, started.process, args)


COMMANDS = {"export": cmd_export}
