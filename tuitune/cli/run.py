"""``tuitune run | check | demo``: train from a preset file (or the CPU demo), or only check it.

Launching is :func:`tuitune.runs.actions.launch`, the one copy the TUI uses too; this module
parses, prints and follows. Exit codes: 0 done, 1 the run failed, 2 bad input, 130 stopped.
"""

from __future__ import annotations

import argparse
import sys

from tuitune.cli.follow import add_follow_args, follow_run, say


def add_commands(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="train from a preset file, following progress")
    _add_preset_args(run)
    run.add_argument("--dry-run", action="store_true", help="validate and show what would run, without training")
    run.add_argument("--force", action="store_true", help="start even when the planner says it will not fit the GPU")
    run.add_argument("--queue", action="store_true",
                     help="when another run trains on the same device, wait in the queue and start after it")
    add_follow_args(run)

    check = sub.add_parser("check", help="validate a preset file")
    _add_preset_args(check)

    demo = sub.add_parser("demo", help="run the CPU demo preset (presets/demo-cpu.toml)")
    demo.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    demo.add_argument("--queue", action="store_true", help="wait in the queue when the device is busy")
    add_follow_args(demo)


def _add_preset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("preset", help="the preset TOML file")
    p.add_argument(
        "-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a preset key, e.g. -s train.max_steps=20 (repeatable)",
    )


def cmd_check(args: argparse.Namespace) -> int:
    from tuitune.preset import load_preset
    from tuitune.runs.preflight import guidance_for, preflight

    preset = load_preset(args.preset, args.overrides)
    model = preset.model.path  # as written: preflight pins a run reference to its full id
    # Every check before the verdict: "ok" is said only of a preset whose data and model files
    # pass too; a failure is the one error line that names the file and what to do.
    guidance, note = guidance_for(preset, preflight(preset))
    print(f"{args.preset}: ok ({preset.train.stage}, method {preset.train.method}, model {model})")
    print(f"guided: {guidance.summary}")
    for line in guidance.lines()[1:]:
        print(f"  {line}")
    for w in guidance.warnings:
        print(f"  warning: {w['message']}")
    print(f"  ({note})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tuitune.preset import load_preset

    preset = load_preset(args.preset, args.overrides)
    if args.dry_run:
        return _dry_run(preset)
    return _launch(preset, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from tuitune.models.bundled import presets_dir
    from tuitune.preset import load_preset

    preset = load_preset(presets_dir() / "demo-cpu.toml", args.overrides)
    return _launch(preset, args)


def _dry_run(preset) -> int:
    import tomli_w

    from tuitune.runs.preflight import describe, guidance_for, preflight

    check = preflight(preset)
    guidance, note = guidance_for(preset, check)
    print(f"# resolved preset (keys left out or `auto` filled in by tuitune; {note})")
    print(tomli_w.dumps(guidance.apply(preset).to_toml_dict()))
    print("# would run")
    print("\n".join(describe(preset, check, guidance)))
    return 0


def _launch(preset, args: argparse.Namespace) -> int:
    from tuitune.runs import actions

    if getattr(args, "queue", False):
        return _queue(preset, args)
    started = actions.launch(preset, force=getattr(args, "force", False))
    for warning in started.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    run = started.run
    say(args, f"run {run.id}\n  directory: {run.path}")
    if args.detach:
        return 0
    return follow_run(run, started.process, args)


def _queue(preset, args: argparse.Namespace) -> int:
    from tuitune.cli.follow import follow_queued
    from tuitune.runs import actions

    outcome = actions.launch_or_queue(preset, force=getattr(args, "force", False))
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    run = outcome.run
    if isinstance(outcome, actions.Started):
        say(args, f"run {run.id}\n  directory: {run.path}")
        return 0 if args.detach else follow_run(run, outcome.process, args)
    behind = f" after {outcome.behind}" if outcome.behind else ""
    say(args, f"run {run.id}\n  directory: {run.path}\n  queued: place {outcome.position}{behind} "
              "(`tuitune queue` shows the queue)")
    return 0 if args.detach else follow_queued(run, args)


COMMANDS = {"run": cmd_run, "check": cmd_check, "demo": cmd_demo}
