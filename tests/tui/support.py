"""Shared pieces of the TUI tests: canned runs and exports as a worker leaves them, a stand-in
worker that holds a run, running a pilot test, and the runs table's moves. Not a test module
(tests/tui/test_canned_runs.py checks the canned data against what a worker really writes)."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import time
from pathlib import Path

from textual.widgets import TabbedContent

from tests.helpers import idle_process
from tests.waits import until
from tuitune.events import EventWriter
from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.runs.checkpoints import mark_complete
from tuitune.runs.store import RunDir, create_run
from tuitune.tui.screens.new_run import FIRST_FIELD
from tuitune.tui.widgets.runs_table import RunsTable


def canned_run(*, status: str = "done", steps: int = 12, total: int | None = None, evals_every: int = 6,
               error: str | None = None, quants: list[str] | None = None, log: str | None = None,
               folder: str | None = None, step_fields: dict | None = None) -> RunDir:
    """A run directory as a worker leaves it: config, state, events.jsonl and worker.log, with
    losses falling from 3.0. ``status`` failed adds an error event; running/stopping with no
    worker reads as crashed. ``folder`` is the run folder its events name (the checkpoints, the
    adapter): where it lies unless given; a snapshot gives one that is the same on every machine.
    ``step_fields`` are added to every step event (a multi-GPU run's ``world_size`` ...)."""
    overrides = [f"export.gguf={quants!r}".replace("'", '"')] if quants is not None else []
    run = create_run(load_preset(presets_dir() / "demo-cpu.toml", overrides))
    total = total or steps
    named = Path(folder) if folder else run.path  # not resolved: a symlink on this machine must not show
    t0 = time.time() - 60
    with EventWriter(run.events) as ev:
        ev.emit("started", pid=4242, run_id=run.id, attempt=1)
        ev.emit("data", path="/data/pirate.jsonl", format="messages", train_rows=190, val_rows=10)
        ev.emit("status", status="loading_model", model="bundled:smollm2-135m-instruct", device="cpu",
                precision="fp32", method="lora", method_reason="set in the preset", gradient_checkpointing=False)
        ev.emit("status", status="training", step=0, total_steps=total)
        for step in range(1, steps + 1):
            ev.emit("step", step=step, total_steps=total, loss=3.0 - 1.5 * step / total, lr=5e-4 * (1 - step / total),
                    grad_norm=1.2, epoch=step / 48, accuracy=0.5, step_time=2.5, tokens_per_s=120.0 + step,
                    eta_s=2.5 * (total - step), **(step_fields or {}))
            if evals_every and step % evals_every == 0:
                ev.emit("eval", step=step, loss=2.9 - 1.2 * step / total, runtime=3.0)
                ev.emit("checkpoint", step=step, path=str(named / "checkpoints" / f"checkpoint-{step}"))
                saved = run.checkpoints / f"checkpoint-{step}"  # a complete (if empty) one: resume starts there
                saved.mkdir(parents=True)
                mark_complete(saved, step)
        if status == "failed":
            ev.emit("error", message=error or "out of memory (test). Lower train.batch_size", exception="MemoryError")
            ev.emit("finished", status="failed")
        elif status in ("done", "stopped"):
            if status == "done":
                ev.emit("saved", path=str(named / "adapter"), kind="adapter")
            ev.emit("finished", status=status)
    state = run.read_state()
    state.status, state.started_at, state.step, state.total_steps = status, t0, steps, total
    state.loss, state.method, state.device = 3.0 - 1.5 * steps / total, "lora", "cpu"
    state.finished_at = t0 + 50 if status in ("done", "stopped", "failed") else None
    state.message = error if status == "failed" else None
    state.pid = 4242 if status in ("running", "stopping") else None
    run.write_state(state)
    run.log.write_text(log if log is not None else "loading model\n\x1b[32mtraining\x1b[0m\n 10%|#  | 1/10\r 20%|## | 2/10\n")
    return run


def pilot_test(fn):
    """Run an async test with asyncio (no pytest-asyncio or anyio plugin needed); fixtures are
    passed through (pytest reads the signature of ``__wrapped__``)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return run




def hold_run(run: RunDir) -> subprocess.Popen:
    """A stand-in worker: holds the run's lock, records its pid as running, and on SIGTERM
    writes ``stop-requested`` in the run folder and exits (as the real worker stops)."""
    code = (
        "import os, signal, sys\n"
        "from tuitune.runs.store import RunDir\n"
        f"run = RunDir({str(run.path)!r}); lock = run.acquire()\n"
        "def stop(*_):\n"
        "    (run.path / 'stop-requested').write_text('yes'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "run.update_state(status='running', pid=os.getpid())\n"
        "print('ready', flush=True)\n"
    )
    proc = idle_process(code, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def open_runs(app, pilot, rows: int) -> RunsTable:
    await pilot.press("2")
    await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="runs screen")
    table = app.screen.query_one(RunsTable)
    await until(pilot, lambda: table.row_count == rows, what=f"{rows} rows")
    return table


def row_ids(table: RunsTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def screen_text(app) -> str:
    """What the screen shows, as text (no colours)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def select(pilot, table: RunsTable, run_id: str) -> None:
    table.move_cursor(row=row_ids(table).index(run_id))
    await until(pilot, lambda: table.selected_run_id == run_id, what=f"run {run_id} selected")


REPORT = {
    "status": "failed",
    "files": [{"quant": "q8_0", "path": "/r/gguf/demo-q8_0.gguf", "bytes": 144810848, "tensor_types": {"q8_0": 211, "f32": 61}},
              {"quant": "q4_k_m", "path": "/r/gguf/demo-q4_k_m.gguf", "bytes": 100 * 2**20,
               "tensor_types": {"q5_0": 180, "q4_k": 31}, "note": "asked for q4_k_m, got mostly q5_0"}],
    "timings_s": {"merge": 21.06, "convert": 5.93},
    "verification": {"passed": False, "reasons": ["1 of 3 greedy answers did not stop within 200 tokens"],
                     "template_match": True, "agreement": 0.997,
                     "stops": [{"finish_reason": "stop"}, {"finish_reason": "length"}, {"finish_reason": "stop"}],
                     "perplexity": {"f16": 5.12, "q8_0": 5.13, "q4_k_m": 5.61}},
    "modelfile": {"path": "/r/gguf/Modelfile", "for": "q8_0"},
}


def write_export(run, report: dict, upto: str | None = None) -> None:
    """Export events as the worker writes them, stopping after ``upto``'s start when given."""
    (run.path / "gguf").mkdir(exist_ok=True)
    with EventWriter(run.events) as ev:
        ev.emit("status", status="exporting", quants=["q8_0", "q4_k_m"])
        for stage in ("merge", "convert", "quantize q8_0", "quantize q4_k_m", "verify"):
            ev.emit("export", stage=stage, state="started")
            if stage == upto:
                return
            if stage == "quantize q4_k_m":
                ev.emit("warning", message="asked for q4_k_m, got mostly q5_0")
            ev.emit("export", stage=stage, state="done", seconds=2.5)
        (run.path / "gguf" / "report.json").write_text(json.dumps(report))
        if report["status"] != "passed":
            ev.emit("error", message="export verification failed: " + report["verification"]["reasons"][0])
        ev.emit("finished", stage="export", status=report["status"], report=str(run.path / "gguf" / "report.json"))


async def open_form(app, pilot):
    await pilot.press("3")
    await until(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.query("#preset-toml"),
                what="new run screen")
    screen = app.screen
    await until(pilot, lambda: screen.preset is not None, what="the demo preset loaded")
    return screen


async def go_to(pilot, screen, step: str) -> None:
    """Walk the wizard with its keys until `step` shows."""
    steps = screen.query_one("#steps", TabbedContent)
    order = ["step-model", "step-data", "step-method", "step-review"]
    key = "ctrl+n" if order.index(step) > order.index(steps.active) else "ctrl+b"
    while steps.active != step:
        await pilot.press(key)
    first = screen.query_one(FIRST_FIELD[step])
    await until(pilot, lambda: first.has_focus, what=f"the focus on {step}'s first field")


def toml_shown(screen) -> str:
    return str(screen.query_one("#preset-toml").render())


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())
