"""The training worker: ``python -m tuitune.train RUN_DIR``.

Reads only ``RUN_DIR/config.toml`` and writes only inside ``RUN_DIR``. Whoever starts it (the
TUI, ``tuitune run``, a person) sees the same thing: events in events.jsonl, the status in
state.json, everything printed in worker.log. It resumes from the run's last complete
checkpoint when there is one. SIGINT or SIGTERM stops it after the current step, with a
checkpoint, and leaves the run ``stopped``.

Exit codes: 0 done or stopped, 1 failed, 3 the run is held by another worker.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path

from tuitune.errors import explain, is_oom
from tuitune.events import EventWriter
from tuitune.preset.methods import export_refusal
from tuitune.runs.store import RunDir, take_run
from tuitune.runs.workers import EXIT_BUSY
from tuitune.train import oom
from tuitune.train.distributed import RanksCrashed, plan_launch, supervise


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tuitune.train RUN_DIR", file=sys.stderr)
        return 2
    run = RunDir(argv[0])
    from tuitune.runs import faults

    faults.at_start()
    lock = take_run(run, "tuitune worker")
    if lock is None:
        return EXIT_BUSY
    with lock, EventWriter(run.events) as events:
        code = _run(run, events)
    _after_run(run)
    return code


def _after_run(run: RunDir) -> None:
    """Once the run is let go: a sweep trial reports to its study, and the next queued run
    starts (tuitune/runs/queue.py: no daemon, the worker that finishes starts it). Neither
    changes how this run ended."""
    from tuitune.runs import queue, sweep

    for step in (lambda: sweep.record_trial(run), queue.start_next):
        try:
            step()
        except Exception:  # noqa: BLE001 - the run is over; worker.log keeps why the next did not start
            traceback.print_exc()


def _run(run: RunDir, events: EventWriter) -> int:
    # Handlers first, before the seconds spent importing the training stack: a stop asked for
    # in that window must still end with a clean `stopped`.
    from tuitune.train.stop import stop_requested

    def request_stop(signum: int, _frame: object) -> None:
        if not stop_requested.is_set():
            stop_requested.set()
            events.emit("status", status="stopping", signal=signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    state = run.read_state()
    state.status, state.pid, state.message = "running", os.getpid(), None
    state.started_at = state.started_at or time.time()
    state.attempts += 1
    state.finished_at = None
    run.write_state(state)
    events.emit("started", sync=True, pid=os.getpid(), run_id=run.id, attempt=state.attempts)

    try:
        status = _train(run, events)
    except RanksCrashed as e:  # a rank of a multi-process run died: crashed, and resumable
        run.update_state(status="crashed", message=str(e), finished_at=time.time(), pid=None)
        events.emit("error", sync=True, message=str(e), exception="RanksCrashed")
        events.emit("finished", sync=True, status="crashed")
        return 1
    except BaseException as e:  # noqa: BLE001 - every failure must reach the run's record
        message = explain(e)
        traceback.print_exc()
        try:
            run.update_state(status="failed", message=message, finished_at=time.time(), pid=None)
            events.emit("error", sync=True, message=message, exception=type(e).__name__)
            events.emit("finished", sync=True, status="failed")
        except OSError as record_error:  # a full disk: the run will read as crashed, and resumes
            print(f"tuitune worker: could not record the failure ({record_error}): {message}", file=sys.stderr)
        return 1
    done_message = None if status == "done" else "stopped on request; `tuitune runs resume` continues it"
    run.update_state(status=status, message=done_message, finished_at=time.time(), pid=None)
    extra = {}
    preset = run.preset()
    from tuitune.runs.extend import export_after

    refusal = export_refusal(run.read_state().method, run.id)
    if status == "done" and preset.export.gguf and refusal:  # prompt/prefix tuning: chat only
        events.emit("note", sync=True, message=f"no GGUF export after training: {refusal}")
    elif status == "done" and preset.export.gguf and export_after(run):
        extra["export"] = _export_after_training(run, preset, events)
    if status == "done" and preset.eval.general:
        try:
            _evaluate_after_training(run, preset, events)
        except Exception as e:  # noqa: BLE001 - the run is trained and stays done; the event says why
            traceback.print_exc()
            events.emit("evaluation", sync=True, status="failed", message=explain(e))
    events.emit("finished", sync=True, status=status, **extra)
    return 0


def _export_after_training(run: RunDir, preset, events: EventWriter) -> str:
    """The preset's ``[export]``, in a child process (``python -m tuitune.export RUN_DIR
    --after-training``), so that training and export stay independent packages (neither imports
    the other) and the export does not inherit the training's heap. This worker keeps
    the run (its lock) meanwhile; the child appends its stages to events.jsonl, and this worker
    then closes the stream with the one ``finished`` event. Returns ``passed`` or ``failed``."""
    import subprocess

    command = [sys.executable, "-m", "tuitune.export", str(run.path), "--after-training",
               "--quant", ",".join(preset.export.gguf)] + ([] if preset.export.ollama else ["--no-ollama"])

    # Training is over: a stop asked for now has nothing to stop (the export runs to its end, as
    # it did in this process), and the child owns events.jsonl until it exits. Python handlers
    # are reset in the child, which keeps the default ones.
    def ignore(signum: int, _frame: object) -> None:
        print(f"tuitune worker: {signal.Signals(signum).name} during the export after training: "
              "it runs to its end", file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, ignore)
    signal.signal(signal.SIGINT, ignore)
    _free_memory()  # what training left cached on the GPU, for the child to use
    sys.stdout.flush()
    sys.stderr.flush()
    code = subprocess.call(command, stdin=subprocess.DEVNULL)  # its output: ours, worker.log
    events.continue_sequence()
    if code == 0:
        return "passed"
    if code != 1:  # 1: it failed and its error event says why; anything else: it never could
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        events.emit("error", sync=True, message=f"export failed: the export process died ({how}); "
                    f"details in worker.log, `tuitune export {run.id}` starts it again")
    return "failed"


def _evaluate_after_training(run: RunDir, preset, events: EventWriter) -> None:
    """Base against tuned on the validation rows and the general set, in the evaluation worker
    (after the export, so a verified GGUF is what gets scored), within the preset's time budget;
    the coach then says whether the run forgot. A failure here never fails the trained run."""
    from tuitune.runs import evals
    from tuitune.train.coach import warn_forgetting

    extra = ["--budget", str(preset.eval.general_budget_s)]
    if preset.eval.general_limit:
        extra += ["--general-limit", str(preset.eval.general_limit)]
    _free_memory()
    sys.stderr.flush()
    process = evals.start_eval(evals.eval_command(str(run.path), extra=extra), log=run.log)
    outcome: dict = {}
    for message in evals.messages(process):
        if set(message) & {"result", "skipped", "error"}:
            outcome = message
    if "result" not in outcome:
        why = outcome.get("skipped") or outcome.get("error") or f"the evaluation worker exited with code {process.returncode}"
        events.emit("evaluation", sync=True, status="skipped" if "skipped" in outcome else "failed", message=why)
        return
    summary = evals.read(Path(outcome["result"])) or {}
    events.emit("evaluation", sync=True, status="done", path=outcome["result"], rows=summary.get("rows"),
                base=summary.get("base"), tuned=summary.get("tuned"), general=summary.get("general"))
    warn_forgetting(events, summary, preset.eval.forgetting_margin, run.read_state().step)


def _train(run: RunDir, events: EventWriter) -> str:
    from tuitune.models.files import safety_warnings

    preset = run.preset()
    launch = plan_launch(preset)
    if launch is not None:  # several processes: this worker supervises them (train/distributed.py)
        return supervise(run, preset, events, launch)
    train = _stage(preset)
    for warning in safety_warnings(preset):
        events.emit("warning", message=warning)
    while True:
        try:
            return train(run, preset, events)
        except BaseException as e:  # noqa: BLE001 - only out-of-memory is handled here
            if not is_oom(e):
                raise
            _after_oom(run, preset, events, e)  # raises oom.OutOfMemory unless it retries
        # Out of the except block: the traceback's frames (and the model they hold) are gone.
        _free_memory()


def _stage(preset):
    """The training function of the preset's stage: (run, preset, events) -> final status."""
    if preset.train.stage == "dpo":
        from tuitune.train.dpo import train_dpo

        return train_dpo
    if preset.train.stage == "cpt":
        from tuitune.train.cpt import train_cpt

        return train_cpt
    if preset.train.stage in ("kto", "orpo", "simpo"):
        from tuitune.train.preference import train_preference

        return train_preference
    from tuitune.train.sft import train_sft

    return train_sft


def _after_oom(run: RunDir, preset, events: EventWriter, error: BaseException) -> oom.Batching:
    """Report the OOM with advice; with on_oom = "retry", record and return the smaller batching,
    else raise :class:`oom.OutOfMemory` whose message is the advice."""
    from tuitune.train.guided import effective

    preset = effective(run, preset).model_copy(deep=True)
    if preset.train.grad_accum is None:  # out of memory before the guidance was stored
        preset.train.grad_accum = 1
    state = run.read_state()
    device = state.device or "cpu"
    note = oom.planner_note(preset) if device == "cuda" else None
    now = oom.Batching(preset.train.batch_size, preset.train.grad_accum)
    retries = sum(1 for c in state.changes if c.get("reason") == "out of memory")
    smaller = now.halved() if preset.train.on_oom == "retry" and retries < preset.train.oom_retries else None
    events.emit(
        "oom", sync=True, step=state.step, device=device, error=str(error).split("\n")[0][:300],
        batch_size=now.batch_size, grad_accum=now.grad_accum, max_seq_len=preset.train.max_seq_len,
        advice=oom.advice(preset.train, device, note), action="retry" if smaller else "fail",
    )
    if smaller is None:
        raise oom.OutOfMemory(oom.message(error, preset.train, device, note)) from error
    from tuitune.runs.checkpoints import latest_checkpoint

    checkpoint = latest_checkpoint(run.checkpoints)
    change = {
        "reason": "out of memory", "at_step": state.step, "ts": round(time.time(), 3),
        "batch_size": [now.batch_size, smaller.batch_size], "grad_accum": [now.grad_accum, smaller.grad_accum],
        "resume_from": checkpoint.name if checkpoint else None,
    }
    run.update_state(batch_size=smaller.batch_size, grad_accum=smaller.grad_accum, changes=[*state.changes, change])
    events.emit(
        "retry", sync=True, reason="out of memory", attempt=retries + 1, of=preset.train.oom_retries,
        batch_size=smaller.batch_size, grad_accum=smaller.grad_accum, effective_batch=smaller.effective,
        resume_from=change["resume_from"],
    )
    return smaller


def _free_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
