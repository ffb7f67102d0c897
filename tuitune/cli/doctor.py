"""``tuitune doctor [--model M] [--json]``: what this install can do, one check a line, each
failure or warning with what to do. Exit 0 unless a check fails (a machine without a GPU is not
a failure: it says CPU training only).

``tuitune doctor --train [--json] [--keep]``: the self-test, a short real run of each method
this machine trains (tuitune/doctor/selftest.py), followed live like `tuitune run`."""

from __future__ import annotations

import argparse
import json
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check the install: GPU, torch, bitsandbytes, llama.cpp, disk, memory")
    doctor.add_argument("--model", metavar="M", help="also check disk and memory for merging and exporting this model")
    doctor.add_argument("--json", action="store_true", help='print {"checks": [{"name", "status", "message", "fix"}...]}')
    doctor.add_argument("--train", action="store_true",
                        help="self-test: a short real LoRA run (and QLoRA on a GPU) on a random model, with its "
                             "tokens/s, peak memory against the planner and the speed switches that took")
    doctor.add_argument("--keep", action="store_true", help="with --train: keep the self-test's model, data and runs")


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.train:
        return _self_test(args)
    from tuitune.doctor.checks import diagnose

    return _print(diagnose(args.model), args)


def _print(checks, args: argparse.Namespace, **extra) -> int:
    from tuitune.doctor.report import report_lines, summary

    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks], **extra}))
    else:
        for status, line in report_lines(checks):
            print(f"{status:4}  {line}")
        print(summary(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def _self_test(args: argparse.Namespace) -> int:
    from tuitune.doctor import selftest

    def watch(run, process) -> None:
        from tuitune.runs.workers import follow

        if args.json:  # stdout carries the one JSON object: progress goes nowhere
            for _ in follow(run, process):
                pass
            return
        from tuitune.cli.display import RunDisplay

        with RunDisplay() as display:
            for event in follow(run, process):
                display.handle(event)

    checks, outcomes = [], []
    with selftest.workspace(keep=args.keep) as work:
        for case in selftest.cases():
            _say(args, f"self-test: {case.describe()}; every row is longer than max_seq_len on purpose, "
                       "so each batch is full")
            result = selftest.run_case(case, work.path, watch)
            outcomes.append(result.to_json())
            found = selftest.checks(result)
            work.keep = work.keep or any(c.status == "fail" for c in found)
            checks += found
        if work.keep:
            _say(args, f"the self-test's model, data and runs are kept in {work.path}")
    return _print(checks, args, runs=outcomes)


def _say(args: argparse.Namespace, text: str) -> None:
    print(text, file=sys.stderr if args.json else sys.stdout, flush=True)


COMMANDS = {"doctor": cmd_doctor}
