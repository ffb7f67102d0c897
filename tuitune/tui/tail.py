"""Follow one run from its files alone: new events, the state and the end of worker.log.

UI-free and single-threaded: the run view calls :meth:`RunTail.poll` from a thread worker and
turns each :class:`TailBatch` into messages. Works the same for a run this app started, one
started headless earlier (re-attach), and a finished run (the first poll replays everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tuitune.events import EventReader
from tuitune.runs.store import RunDir, RunState, RunStoreError

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOG_TAIL_BYTES = 32_768


@dataclass
class TailBatch:
    """What changed since the previous poll (empty lists and None: nothing new)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every new event except steps, in order (evals included)."""
    state: RunState | None = None
    status: str | None = None
    log_lines: list[str] | None = None


class RunTail:
    """Remembers how far it has read a run's events, state and log."""

    def __init__(self, run: RunDir, log_lines: int = 200):
        self.run = run
        self.reader = EventReader(run.events)
        self.log_lines = log_lines
        self._state_key: tuple[Any, ...] | None = None
        self._log_size = -1

    def poll(self) -> TailBatch:
        batch = TailBatch()
        for event in self.reader.read_new():
            if event.get("type") == "step":
                batch.steps.append(event)
            else:
                batch.events.append(event)
                if event.get("type") == "eval":
                    batch.evals.append(event)
        self._poll_state(batch)
        batch.log_lines = self._poll_log()
        return batch

    def _poll_state(self, batch: TailBatch) -> None:
        try:
            state, status = self.run.read_state(), self.run.status()
        except RunStoreError as e:
            state, status = RunState(status="unreadable", message=str(e)), "unreadable"
        key = (status, state.step, state.loss, state.message, state.updated_at)
        if key != self._state_key:
            self._state_key = key
            batch.state, batch.status = state, status

    def _poll_log(self) -> list[str] | None:
        try:
            size = self.run.log.stat().st_size
        except FileNotFoundError:
            return None
        if size == self._log_size:
            return None
        self._log_size = size
        with open(self.run.log, "rb") as f:
            f.seek(max(0, size - LOG_TAIL_BYTES))
            data = f.read().decode("utf-8", errors="replace")
        return clean_lines(data, cut=size > LOG_TAIL_BYTES)[-self.log_lines:]


def clean_lines(data: str, cut: bool = False) -> list[str]:
    """A log's lines as the terminal showed them: no colour codes, and of a progress bar that
    redraws with \r only its last state. ``cut``: the data starts mid-file (its first line is
    probably partial, and dropped)."""
    lines = [_last_redraw(_ANSI.sub("", line)) for line in data.split("\n")]
    if cut:
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _last_redraw(line: str) -> str:
    parts = [p for p in line.split("\r") if p.strip()]
    return parts[-1] if parts else ""
