"""Shared pieces of the TUI tests (canned runs, waiting on a pilot, a recording start_worker),
and checks that the canned data is what the worker really writes."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import time
from pathlib import Path

from tuitune.events import EventWriter, parse_line, read_events
from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.runs.store import RunDir, create_run


def canned_run(*, status: str = "done", steps: int = 12, total: int | None = None, evals_every: int = 6,
               error: str | None = None, quants: list[str] | None = None, log: str | None = None) -> RunDir:
    """A run directory as a worker leaves it: config, state, events.jsonl and worker.log, with
    losses falling from 3.0. ``status`` failed adds an error event; running/stopping with no
    worker reads as crashed."""
    overrides = [f"export.gguf={quants!r}".replace("'", '"')] if quants is not None else []
    run = create_run(load_preset(presets_dir() / "demo-cpu.toml", overrides))
    total = total or steps
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
                    eta_s=2.5 * (total - step))
            if evals_every and step % evals_every == 0:
                ev.emit("eval", step=step, loss=2.9 - 1.2 * step / total, runtime=3.0)
                ev.emit("checkpoint", step=step, path=str(run.checkpoints / f"checkpoint-{step}"))
        if status == "failed":
            ev.emit("error", message=error or "out of memory (test). Lower train.batch_size", exception="MemoryError")
            ev.emit("finished", status="failed")
        elif status in ("done", "stopped"):
            if status == "done":
                ev.emit("saved", path=str(run.adapter), kind="adapter")
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


async def wait_for(pilot, predicate, timeout: float = 5.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` is true (workers and timers do their work)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def record_start_worker(monkeypatch) -> list[dict]:
    """Replace ``tuitune.runs.workers.start_worker`` with one that records its call and starts a
    process that exits at once."""
    calls: list[dict] = []

    def fake(run: RunDir, module: str = "tuitune.train", args: list[str] | None = None) -> subprocess.Popen:
        calls.append({"run": run.id, "module": module, "args": list(args or [])})
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr("tuitune.runs.workers.start_worker", fake)
    return calls


def hold_run(run: RunDir) -> subprocess.Popen:
    """A stand-in worker: holds the run's lock, records its pid as running, and on SIGTERM
    writes ``stop-requested`` in the run folder and exits (as the real worker stops)."""
    code = (
        "import signal, sys, time, pathlib\n"
        "from tuitune.runs.store import RunDir\n"
        "run = RunDir(sys.argv[1]); lock = run.acquire()\n"
        "def stop(*_):\n"
        "    (run.path / 'stop-requested').write_text('yes'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "import os; run.update_state(status='running', pid=os.getpid())\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(run.path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_canned_events_parse_like_a_workers(tuitune_home):
    run = canned_run(steps=12)
    events = read_events(run.events)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(parse_line(line) for line in run.events.read_text().splitlines())
    assert events[-1]["type"] == "finished"
    assert Path(run.path).parent == tuitune_home / "runs"
    assert run.status() == "done"


def test_canned_running_run_without_worker_reads_crashed():
    assert canned_run(status="running").status() == "crashed"
