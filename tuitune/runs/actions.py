"""Every run action, once, for both fronts: launch, resume, stop, export, delete.

``tuitune run | demo | export | runs resume/stop/delete`` and the TUI's keys call these, so
anything one front can do or refuses, the other can do or refuses with the same message. A
front keeps only what it shows and what it asks (a confirmation, a progress display): an
action prints nothing, and returns the warnings and notes for the front to show.

Each action checks what it must before a worker starts, so that bad input fails at once, as a
:class:`~tuitune.errors.TuituneError` (exit code 2 in the CLI, a notification in the TUI), with
no run created and nothing changed.

``process`` is the worker this front started for the run, if it still tracks one: a worker
that has just started may not hold the run's lock (or have recorded its pid) yet, and only
its parent knows it is there.

Light: workers are separate processes; nothing heavy is imported here.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuitune.errors import TuituneError
from tuitune.preset.methods import export_refusal

if TYPE_CHECKING:  # the run store imports pydantic: not before the TUI's first frame
    from tuitune.preset import Preset
    from tuitune.runs.store import RunDir


class ActionRefused(TuituneError):
    """An action that makes no sense for this run now; the message says why and what to do."""


@dataclass
class Started:
    """The worker an action started, for the front to follow or track, and what to tell the person."""

    run: RunDir
    process: subprocess.Popen[bytes]
    warnings: list[str] = field(default_factory=list)
    """What to know before trusting the run (a model allowed to run its own code or pickles)."""
    notes: list[str] = field(default_factory=list)
    """What the action did on the way (an unreadable state.json rebuilt from the events)."""
    quants: list[str] = field(default_factory=list)
    """export: the GGUF types the export writes."""


def launch(preset: Preset, *, force: bool = False) -> Started:
    """``tuitune run PRESET``: preflight (the data and the model files are read now, not minutes
    later in a worker), refuse what the planner says cannot fit the GPU unless ``force``, then
    create the run and start its training worker. Slow on big data: the TUI calls it from a thread."""
    from tuitune.models.files import safety_warnings
    from tuitune.runs.preflight import preflight
    from tuitune.runs.store import create_run
    from tuitune.runs.workers import start_worker

    preflight(preset)
    warnings = safety_warnings(preset)
    check_fits(preset, force=force)
    run = create_run(preset)
    return Started(run, start_worker(run), warnings=warnings)


@dataclass
class Queued:
    """A run created ``queued``, waiting for its device (:mod:`tuitune.runs.queue`)."""

    run: RunDir
    position: int
    behind: str
    """The run that trains on the device now."""
    warnings: list[str] = field(default_factory=list)


def launch_or_queue(preset: Preset, *, force: bool = False) -> Started | Queued:
    """``tuitune run PRESET --queue``: :func:`launch` when the preset's device is free, else the
    same checks, then the run is made and waits in the queue; the worker that finishes starts it."""
    from tuitune.models.files import safety_warnings
    from tuitune.runs import queue
    from tuitune.runs.preflight import preflight
    from tuitune.runs.store import create_run

    device = queue.device_of(preset)
    current = queue.busy(device)
    if current is None and not [e for e in queue.entries() if e.device == device]:
        return launch(preset, force=force)
    preflight(preset)
    warnings = safety_warnings(preset)
    check_fits(preset, force=force)
    run = create_run(preset)
    position = queue.add(run, device)
    queue.kick()  # the device may have come free meanwhile
    return Queued(run, position, current.id if current else "", warnings=warnings)


def check_fits(preset: Preset, *, force: bool = False) -> None:
    """On a GPU, a :class:`~tuitune.hardware.errors.PlannerError` with the planner's advice when
    the preset cannot fit, unless ``force``. Nothing to check on the CPU, or for an `auto`
    method (the worker picks it with the same planner)."""
    if preset.train.device == "cpu" or preset.train.method == "auto":
        return
    from tuitune.hardware.calibration import for_report
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.model_shape import load_shape
    from tuitune.hardware.nvml import gpu_report
    from tuitune.hardware.plan import check_preset, detect_gpu
    from tuitune.runs.refs import readable_ref

    report = gpu_report()
    gpu_bytes, bf16, _ = detect_gpu(report)
    if not gpu_bytes:
        return
    try:
        shape = load_shape(readable_ref(preset.model.path))  # run:<id> plans as what the run started from
    except PlannerError:
        return  # shape unknown before download (a hub id not cached yet): the worker will tell
    check_preset(preset, gpu_bytes, shape=shape, bf16=bf16, force=force, calibration=for_report(report))


def resume(run: RunDir, process: subprocess.Popen[bytes] | None = None, from_scratch: bool = False) -> Started:
    """``tuitune runs resume RUN``: continue a stopped, failed or crashed run from its last
    complete checkpoint (an unreadable state.json is rebuilt from the events first, and said);
    ``from_scratch``: train again from step 0 a run whose checkpoints are all gone."""
    from tuitune.runs.workers import check_resumable, rebuild_if_unreadable, start_worker

    if _alive(process):
        raise ActionRefused(f"run {run.id} is already starting or running")
    note = rebuild_if_unreadable(run)
    try:
        check_resumable(run, from_scratch)
    except TuituneError as e:
        if note:  # the rebuild happened: say so with the refusal, it changed the run's files
            raise ActionRefused(f"{note}; {e}") from None
        raise
    return Started(run, start_worker(run), notes=[note] if note else [])


def extend(run: RunDir, *, steps: int | None = None, epochs: float | None = None, export: bool = False,
           process: subprocess.Popen[bytes] | None = None) -> Started:
    """``tuitune runs extend RUN --steps N | --epochs N``: more steps of a finished run, from its
    final checkpoint (weights and optimizer state), with a schedule made for the new steps
    (tuitune/runs/extend.py); ``export`` redoes the preset's [export] at the end."""
    from tuitune.runs import extend as extension
    from tuitune.runs.checkpoints import checkpoint_step, latest_checkpoint
    from tuitune.runs.workers import already_running, start_worker

    if (steps is None) == (epochs is None):
        raise ActionRefused("extend: give one of --steps N or --epochs N")
    if (steps is not None and steps < 1) or (epochs is not None and not epochs > 0):
        raise ActionRefused(f"extend: {'--steps' if steps is not None else '--epochs'} must be above 0")
    if _alive(process) or run.is_locked():
        raise already_running(run)
    status = run.status()
    if status != "done":
        hint = f"; `tuitune runs resume {run.id}` continues it" if status in ("stopped", "failed", "crashed") else ""
        raise ActionRefused(f"run {run.id} is {status}: only a finished (done) run can be extended{hint}")
    state = run.read_state()
    checkpoint = latest_checkpoint(run.checkpoints)
    if checkpoint is None or checkpoint_step(checkpoint) != state.step:
        raise ActionRefused(
            f"run {run.id}: no complete checkpoint of its last step ({state.step}) in {run.checkpoints}, so its "
            "optimizer state is gone; start a new run from its weights instead (model.path = \"run:"
            f"{run.id}\")")
    extension.write(run, state.step, steps, epochs, export)
    return Started(run, start_worker(run))


def stop(run: RunDir, process: subprocess.Popen[bytes] | None = None) -> int:
    """``tuitune runs stop RUN``: the worker stops after its current step, with a checkpoint;
    returns the pid asked. A training worker this front started is asked directly: it may not
    hold the run, or have recorded its pid, yet. A finished run's worker (exporting) is not
    training: asking it is refused as for any run that is not running."""
    from tuitune.runs.workers import request_stop

    if process is not None and process.poll() is None and run.read_state().status != "done":
        process.send_signal(signal.SIGTERM)
        return process.pid
    return request_stop(run)


def export(run: RunDir, quants: list[str] | None = None, ollama: bool | None = None,
           process: subprocess.Popen[bytes] | None = None) -> Started:
    """``tuitune export RUN [--quant …] [--no-ollama]``: start the export worker for the GGUF
    types ``quants`` (None: the preset's ``[export] gguf``), after its checks: the run is done,
    the types are known, there is at least one (an export of none would merge, then delete its
    only file and pass with nothing to show). ``ollama`` False leaves the Modelfile out."""
    from tuitune.preset import GGUF_TYPES
    from tuitune.runs.workers import start_worker

    if quants is not None:
        unknown = [q for q in quants if q not in GGUF_TYPES]
        if unknown:
            raise ActionRefused(f"--quant: unknown type(s) {', '.join(unknown)}; known: {', '.join(GGUF_TYPES)}")
    check_exportable(run)
    if _alive(process):
        raise ActionRefused(f"run {run.id} is already exporting")
    quants = list(run.preset().export.gguf) if quants is None else list(quants)
    if not quants:
        raise ActionRefused(
            f"run {run.id}: no GGUF types to export (none chosen, and none listed in its preset's "
            f"[export] gguf); pass at least one, e.g. `tuitune export {run.id} --quant q8_0` (or tick one "
            "on the export screen), or set export.gguf = [\"q8_0\"] in the preset"
        )
    args = ["--quant", ",".join(quants)] + (["--no-ollama"] if ollama is False else [])
    return Started(run, start_worker(run, module="tuitune.export", args=args), quants=quants)


def check_exportable(run: RunDir) -> None:
    """Only a finished run has weights to export (the TUI asks before it opens its export screen)."""
    status = run.status()
    if status != "done":
        raise ActionRefused(f"run {run.id} is {status}: only finished (done) runs can be exported")
    refusal = export_refusal(run.read_state().method, run.id)
    if refusal:
        raise ActionRefused(f"run {run.id} cannot be exported to GGUF: {refusal}")


def delete(run: RunDir, process: subprocess.Popen[bytes] | None = None) -> None:
    """``tuitune runs delete RUN``: remove the run's folder; refused while a worker holds the run,
    or one this front started has not taken it yet."""
    from tuitune.runs.store import delete_run

    if _alive(process):
        raise ActionRefused(f"run {run.id} is starting or running; stop it first (`tuitune runs stop {run.id}`)")
    delete_run(run)


def label(run: RunDir, name: str | None = None, note: str | None = None) -> None:
    """``tuitune runs name|note RUN TEXT``: give the run a name and/or a note (empty removes
    it); its id and folder stay what they are. Allowed at any time, also while it trains."""
    from tuitune.runs.label import write_label

    if not run.state_file.exists():
        raise ActionRefused(f"{run.path} is not a tuitune run (no state.json)")
    write_label(run.path, name, note)


def _alive(process: subprocess.Popen[bytes] | None) -> bool:
    return process is not None and process.poll() is None
