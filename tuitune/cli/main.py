"""The headless command line: ``tuitune run | check | demo | export | chat | data | gpus | plan | keys | runs``.

Fast by design: ``tuitune --help`` imports neither torch nor the training stack, and each
command imports what it needs when it runs. Exit codes: 0 ok, 1 the run failed,
2 bad input (preset, data, run id), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tuitune import __version__
from tuitune.cli import chat as cli_chat
from tuitune.cli import data as cli_data
from tuitune.cli.follow import follow_export, follow_run, say
from tuitune.cli.hardware import COMMANDS as HARDWARE_COMMANDS
from tuitune.cli.hardware import add_commands as add_hardware_commands

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

    run = sub.add_parser("run", help="train from a preset file, following progress")
    _add_preset_args(run)
    run.add_argument("--dry-run", action="store_true", help="validate and show what would run, without training")
    run.add_argument("--force", action="store_true", help="start even when the planner says it will not fit the GPU")
    _add_follow_args(run)

    check = sub.add_parser("check", help="validate a preset file")
    _add_preset_args(check)

    demo = sub.add_parser("demo", help="run the CPU demo preset (presets/demo-cpu.toml)")
    demo.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    _add_follow_args(demo)

    export = sub.add_parser("export", help="merge a finished run and write verified GGUF files (+ Ollama Modelfile)")
    export.add_argument("run_id")
    export.add_argument("--quant", help="comma-separated types, e.g. q4_k_m,q8_0 (default: the preset's [export] gguf)")
    export.add_argument("--ollama", action=argparse.BooleanOptionalAction, default=None, help="write a Modelfile")
    export.add_argument("--json", action="store_true", help="print events as JSON Lines")

    cli_data.add_parser(sub)
    cli_chat.add_parser(sub)
    add_hardware_commands(sub)

    keys = sub.add_parser("keys", help="list every preset key with its help")
    keys.add_argument("section", nargs="?", help="only this section, e.g. train")

    runs = sub.add_parser("runs", help="list, show, stop, resume and delete runs")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    ls = runs_sub.add_parser("list", help="all runs, oldest first")
    ls.add_argument("--json", action="store_true", help="one JSON object per run")
    show = runs_sub.add_parser("show", help="one run's state and last events")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    resume = runs_sub.add_parser("resume", help="continue a stopped, failed or crashed run from its last checkpoint")
    resume.add_argument("run_id")
    _add_follow_args(resume)
    stop = runs_sub.add_parser("stop", help="stop a running run after its current step (a checkpoint is saved)")
    stop.add_argument("run_id")
    delete = runs_sub.add_parser("delete", help="delete a run's folder (checkpoints, exports, chats); not while it runs")
    delete.add_argument("run_id")
    delete.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    return parser


def _add_preset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("preset", help="the preset TOML file")
    p.add_argument(
        "-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a preset key, e.g. -s train.max_steps=20 (repeatable)",
    )


def _add_follow_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print events as JSON Lines instead of a progress display")
    p.add_argument("--detach", action="store_true", help="start the worker and return at once")


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


def cmd_check(args: argparse.Namespace) -> int:
    from tuitune.preset import load_preset
    from tuitune.runs.preflight import guidance_for, preflight

    preset = load_preset(args.preset, args.overrides)
    print(f"{args.preset}: ok ({preset.train.stage}, method {preset.train.method}, model {preset.model.path})")
    guidance, note = guidance_for(preset, preflight(preset))
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


def _check_fits(preset, force: bool) -> None:
    """On a GPU, refuse a preset the planner says cannot fit (exit 2, with its advice)."""
    if preset.train.device == "cpu" or preset.train.method == "auto":
        return  # the worker picks an `auto` method with the same planner
    from tuitune.cli.hardware import gpu_report
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.model_shape import load_shape
    from tuitune.hardware.plan import check_preset, detect_gpu
    from tuitune.runs.refs import readable_ref

    gpu_bytes, bf16, _ = detect_gpu(gpu_report())
    if not gpu_bytes:
        return
    try:
        shape = load_shape(readable_ref(preset.model.path))  # run:<id> plans as what the run started from
    except PlannerError:
        return  # shape unknown before download (e.g. a hub id not cached yet): the worker will tell
    check_preset(preset, gpu_bytes, shape=shape, bf16=bf16, force=force)


def _launch(preset, args: argparse.Namespace) -> int:
    from tuitune.runs.preflight import preflight
    from tuitune.runs.store import create_run
    from tuitune.runs.workers import start_worker

    preflight(preset)  # bad data or a missing bundled model: exit 2 now, not in the worker
    from tuitune.models.files import safety_warnings

    for warning in safety_warnings(preset):
        print(f"warning: {warning}", file=sys.stderr)
    _check_fits(preset, force=getattr(args, "force", False))
    run = create_run(preset)
    process = start_worker(run)
    say(args, f"run {run.id}\n  directory: {run.path}")
    if args.detach:
        return 0
    return follow_run(run, process, args)


def cmd_export(args: argparse.Namespace) -> int:
    from tuitune.preset import GGUF_TYPES
    from tuitune.runs.store import RunStoreError, find_run
    from tuitune.runs.workers import start_worker

    run = find_run(args.run_id)
    command = [str(run.path)]
    if args.quant:
        quants = [q.strip().lower() for q in args.quant.split(",") if q.strip()]
        unknown = [q for q in quants if q not in GGUF_TYPES]
        if unknown:
            raise RunStoreError(f"--quant: unknown type(s) {', '.join(unknown)}; known: {', '.join(GGUF_TYPES)}")
        command += ["--quant", ",".join(quants)]
    if args.ollama is False:
        command.append("--no-ollama")
    if run.status() not in ("done",):
        raise RunStoreError(f"run {run.id} is {run.status()}: only finished runs can be exported")
    process = start_worker(run, module="tuitune.export", args=command[1:])
    say(args, f"exporting run {run.id}")
    return follow_export(run, process, args)


def cmd_keys(args: argparse.Namespace) -> int:
    from tuitune.preset import field_help

    for key, type_name, default, text in field_help():
        if args.section and not key.startswith(args.section + "."):
            continue
        print(f"{key}  ({type_name}, default {default})")
        for line in text.splitlines():
            print(f"    {line.strip()}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    return _RUNS_COMMANDS[args.runs_command](args)


def runs_list(args: argparse.Namespace) -> int:
    from tuitune.runs.store import RunStoreError, list_runs

    rows = []
    for run in list_runs():
        try:
            state, status = run.read_state(), run.status()
        except RunStoreError as e:
            rows.append({"id": run.id, "status": "unreadable", "message": str(e)})
            continue
        rows.append({"id": run.id, "status": status, "step": state.step, "total_steps": state.total_steps,
                     "loss": state.loss, "created_at": state.created_at, "path": str(run.path)})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print("no runs yet; start one with `tuitune run PRESET` or `tuitune demo`")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("run", "status", "step", "loss", "created")
    for r in rows:
        step = f"{r.get('step', '')}/{r.get('total_steps') or '?'}"
        loss = f"{r['loss']:.4f}" if r.get("loss") is not None else ""
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"])) if "created_at" in r else ""
        table.add_row(r["id"], r["status"], step, loss, created)
    Console().print(table)
    return 0


def runs_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tuitune.events import read_events
    from tuitune.runs.checkpoints import complete_checkpoints
    from tuitune.runs.store import find_run

    run = find_run(args.run_id)
    state = run.read_state()
    info = {"id": run.id, "path": str(run.path), **asdict(state), "status": run.status(),
            "checkpoints": [p.name for p in complete_checkpoints(run.checkpoints)]}
    events = read_events(run.events)
    if args.json:
        print(json.dumps({**info, "events": len(events)}))
        return 0
    for key, value in info.items():
        print(f"{key:16} {value}")
    losses = [e["loss"] for e in events if e["type"] == "step" and "loss" in e]
    if losses:
        print(f"{'loss':16} {losses[0]:.4f} → {losses[-1]:.4f} over {len(losses)} logged steps")
    evals = [(e["step"], e["loss"]) for e in events if e["type"] == "eval" and "loss" in e]
    if evals:
        print(f"{'validation loss':16} " + ", ".join(f"{loss:.4f} (step {step})" for step, loss in evals))
    from tuitune.cli.run_show import show_guidance, show_samples, show_warnings

    show_guidance(run.path)
    show_warnings(events)
    show_samples(run.path)
    return 0


def runs_resume(args: argparse.Namespace) -> int:
    from tuitune.runs.store import find_run
    from tuitune.runs.workers import check_resumable, rebuild_if_unreadable, start_worker

    run = find_run(args.run_id)
    note = rebuild_if_unreadable(run)
    if note:
        say(args, note)
    check_resumable(run)
    process = start_worker(run)
    say(args, f"resuming run {run.id}")
    if args.detach:
        return 0
    return follow_run(run, process, args)


def runs_stop(args: argparse.Namespace) -> int:
    from tuitune.runs.store import find_run
    from tuitune.runs.workers import request_stop

    run = find_run(args.run_id)
    pid = request_stop(run)
    print(f"asked worker {pid} to stop run {run.id} after its current step")
    return 0


def runs_delete(args: argparse.Namespace) -> int:
    from tuitune.runs.store import RunStoreError, delete_run, find_run, run_size

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
    delete_run(run)
    print(f"deleted run {run.id} ({run.path})")
    return 0


_COMMANDS = {
    "run": cmd_run, "check": cmd_check, "demo": cmd_demo, "keys": cmd_keys, "runs": cmd_runs, "export": cmd_export,
    "data": cli_data.run, "chat": cli_chat.run, **HARDWARE_COMMANDS,
}
_RUNS_COMMANDS = {"list": runs_list, "show": runs_show, "resume": runs_resume, "stop": runs_stop, "delete": runs_delete}


if __name__ == "__main__":
    sys.exit(main())
