"""The headless command line: ``tuitune run | check | demo | export | chat | eval | data | gpus | plan | doctor |
keys | runs | queue | sweep``.

This module assembles the parser from one module per command group (``cli/run.py``,
``cli/export.py``, ``cli/data.py``, ``cli/chat.py``, ``cli/eval.py``, ``cli/hardware.py``, ``cli/doctor.py``, ``cli/keys.py``,
``cli/runs.py``, ``cli/queue.py``, ``cli/sweep.py``), dispatches, and starts the TUI (``tuitune tui``, or no
arguments in a terminal).

Fast by design: ``tuitune --help`` imports neither torch nor the training stack, and each
command imports what it needs when it runs. Exit codes: 0 ok, 1 the run failed,
2 bad input (preset, data, run id), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from tuitune import __version__
from tuitune.cli import chat as cli_chat
from tuitune.cli import data as cli_data
from tuitune.cli import doctor as cli_doctor
from tuitune.cli import eval as cli_eval
from tuitune.cli import export as cli_export
from tuitune.cli import hardware as cli_hardware
from tuitune.cli import keys as cli_keys
from tuitune.cli import queue as cli_queue
from tuitune.cli import run as cli_run
from tuitune.cli import runs as cli_runs
from tuitune.cli import sweep as cli_sweep

DESCRIPTION = """Fine-tune open LLMs on your own GPU.

Try the CPU demo (SmolLM2-135M learns to talk like a pirate, ~5 minutes on 2 cores):
  tuitune demo
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuitune", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"tuitune {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("tui", help="the terminal app (also: tuitune with no arguments, in a terminal)")
    # In the order `tuitune --help` lists them.
    cli_run.add_commands(sub)
    cli_export.add_commands(sub)
    cli_data.add_parser(sub)
    cli_chat.add_parser(sub)
    cli_eval.add_commands(sub)
    cli_hardware.add_commands(sub)
    cli_doctor.add_commands(sub)
    cli_keys.add_commands(sub)
    cli_runs.add_commands(sub)
    cli_queue.add_commands(sub)
    cli_sweep.add_commands(sub)
    return parser


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what the shell reports for a writer whose pipe closed."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None or args.command == "tui":
        if args.command == "tui" or (sys.stdin.isatty() and sys.stdout.isatty()):
            from tuitune.tui.app import main as tui_main

            tui_main()
            return 0
        parser.print_help()
        return 0
    from tuitune.errors import user_errors

    try:
        with user_errors():
            return _COMMANDS[args.command](args)
    except SystemExit as e:
        return int(e.code or 0)
    except BrokenPipeError:
        # The reader of stdout went away (`tuitune runs list --json | head -1`): stop quietly, as
        # head's other writers do, and keep the interpreter's final flush from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


_COMMANDS = {
    **cli_run.COMMANDS, **cli_export.COMMANDS, "data": cli_data.run, "chat": cli_chat.run, **cli_eval.COMMANDS,
    **cli_hardware.COMMANDS, **cli_doctor.COMMANDS, **cli_keys.COMMANDS, **cli_runs.COMMANDS,
    **cli_queue.COMMANDS, **cli_sweep.COMMANDS,
}


if __name__ == "__main__":
    sys.exit(main())
