"""``tuitune doctor [--model M] [--json]``: what this install can do, one check a line, each
failure or warning with what to do. Exit 0 unless a check fails (a machine without a GPU is not
a failure: it says CPU training only)."""

from __future__ import annotations

import argparse
import json


def add_commands(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check the install: GPU, torch, bitsandbytes, llama.cpp, disk, memory")
    doctor.add_argument("--model", metavar="M", help="also check disk and memory for merging and exporting this model")
    doctor.add_argument("--json", action="store_true", help='print {"checks": [{"name", "status", "message", "fix"}...]}')


def cmd_doctor(args: argparse.Namespace) -> int:
    from tuitune.doctor.checks import diagnose
    from tuitune.doctor.report import report_lines, summary

    checks = diagnose(args.model)
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}))
    else:
        for status, line in report_lines(checks):
            print(f"{status:4}  {line}")
        print(summary(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


COMMANDS = {"doctor": cmd_doctor}
