"""Fixtures of the TUI tests (the shared helpers are in tests/tui/support.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tuitune.runs.store import RunDir


@pytest.fixture
def worker_starts(monkeypatch) -> list[dict]:
    """Replace ``tuitune.runs.workers.start_worker`` with one that records each call (returned)
    and starts a process that exits at once: the app's side of starting a worker, no training."""
    calls: list[dict] = []

    def fake(run: RunDir, module: str = "tuitune.train", args: list[str] | None = None) -> subprocess.Popen:
        calls.append({"run": run.id, "module": module, "args": list(args or [])})
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr("tuitune.runs.workers.start_worker", fake)
    return calls
