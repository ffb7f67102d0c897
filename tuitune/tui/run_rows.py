"""The rows of the runs tables (home's recent runs and the runs screen), read from run
directories. UI-free: a row is plain strings, so a table only has to show it."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tuitune.runs.event_text import format_duration

if TYPE_CHECKING:  # run_store imports pydantic (0.1 s): read in a thread, after the first frame
    from tuitune.runs.store import RunDir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COLUMNS = ("id", "name", "status", "method", "step", "loss", "started", "duration")

# config.toml never changes after a run is created: read each run's method once.
_methods: dict[Path, str] = {}


@dataclass(frozen=True)
class RunRow:
    id: str
    name: str
    status: str
    method: str
    step: str
    loss: str
    started: str
    duration: str
    created: float = 0.0
    """When the run was created (sort key; not shown)."""
    note: str = ""
    """The run's note (found by the filter; the name column marks that there is one)."""
    sweep: str = ""
    """The sweep this run is a trial of (tuitune/runs/sweep.py), or empty."""

    @property
    def cells(self) -> tuple[str, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)

    def matches(self, text: str) -> bool:
        """True when ``text`` (case-insensitive) occurs in any cell; empty text matches all."""
        text = text.strip().lower()
        return not text or any(text in cell.lower() for cell in (*self.cells, self.note))


def run_row(run: RunDir, now: float | None = None) -> RunRow:
    from tuitune.runs.label import read_label
    from tuitune.runs.store import RunStoreError

    now = time.time() if now is None else now
    label = read_label(run.path)
    name = label.name + (" ✎" if label.note else "")
    try:
        state, status = run.read_state(), run.status()
    except RunStoreError:
        return RunRow(run.id, name, "unreadable", "", "", "", "", "", _mtime(run), label.note)
    total = state.total_steps
    step = f"{state.step}/{total}" if total else (str(state.step) if state.step else "")
    loss = f"{state.loss:.4f}" if state.loss is not None else ""
    started = state.started_at
    end = state.finished_at or (now if status in ("running", "stopping") else state.updated_at)
    duration = format_duration(end - started) if started and end and end >= started else ""
    return RunRow(
        run.id, name, status, state.method or config_method(run), step, loss,
        format_time(started or state.created_at, now), duration, state.created_at, label.note,
    )


def list_rows(root: Path | None = None, limit: int | None = None) -> list[RunRow]:
    """Rows for every run, newest first (at most ``limit``)."""
    from tuitune.runs.store import list_runs

    now = time.time()
    runs = list_runs(root)
    rows = sorted((_experiment(r, run_row(r, now)) for r in runs), key=lambda r: (r.created, r.id), reverse=True)
    places = _queue_places() if any(r.status == "queued" for r in rows) else {}
    rows = [replace(r, step=f"queue {places[r.id]}") if r.id in places else r for r in rows]
    return rows if limit is None else rows[:limit]


def _queue_places() -> dict[str, int]:
    from tuitune.errors import TuituneError
    from tuitune.runs.queue import entries

    try:
        return {e.run: i for i, e in enumerate(entries(), 1)}
    except (TuituneError, OSError):
        return {}


def _experiment(run: RunDir, row: RunRow) -> RunRow:
    """A sweep trial says so in its name (``sweep …-abcd #2 lr=…``), which the filter finds."""
    from tuitune.runs.sweep import read_tag

    tag = read_tag(run)
    if tag is None:
        return row
    params = " ".join(f"{k.rsplit('.', 1)[-1]}={v:g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={v}"
                      for k, v in (tag.get("params") or {}).items())
    number = f" #{tag['trial'] + 1}" if tag.get("trial") is not None else ""
    pruned = " pruned" if tag.get("pruned") else ""
    return replace(row, name=" ".join(x for x in (row.name, f"sweep {tag['sweep'][-4:]}{number}{pruned}", params) if x),
                   sweep=str(tag["sweep"]))


SWEEP_ROW = "sweep:"
"""The key prefix of a sweep's own row (its trials folded under it)."""


def fold_sweeps(rows: list[RunRow], expanded: set[str]) -> list[RunRow]:
    """Each sweep as one row where its newest trial would be (``sweep:<id>``: how many trials
    are done, the best training loss), followed by its trials when the sweep is ``expanded``."""
    trials: dict[str, list[RunRow]] = {}
    for r in rows:
        if r.sweep:
            trials.setdefault(r.sweep, []).append(r)
    out: list[RunRow] = []
    for r in rows:
        if not r.sweep:
            out.append(r)
            continue
        group = trials[r.sweep]
        if r is not group[0]:
            continue  # shown under the sweep's row
        statuses = {t.status for t in group}
        status = next((s for s in ("running", "stopping", "queued") if s in statuses), "done")
        finished = sum(t.status in ("done", "failed", "crashed", "stopped") for t in group)
        losses = [t.loss for t in group if t.loss]
        sign = "▾" if r.sweep in expanded else "▸"
        out.append(RunRow(f"{SWEEP_ROW}{r.sweep}", f"{sign} sweep, {len(group)} trials", status, group[0].method,
                          f"{finished}/{len(group)} trials", min(losses, key=float) if losses else "", group[-1].started, "",
                          group[0].created, "", r.sweep))
        if r.sweep in expanded:
            out.extend(group)
    return out


def config_method(run: RunDir) -> str:
    """``train.method`` from the run's config.toml, without validating the whole preset."""
    from tuitune.preset.keys import default  # pydantic: rows are read after the first frame

    if run.path not in _methods:
        try:
            data = tomllib.loads(run.config.read_text(encoding="utf-8"))
            _methods[run.path] = str(data.get("train", {}).get("method", default("train.method")))
        except (OSError, ValueError):
            return ""
    return _methods[run.path]


def format_time(ts: float | None, now: float) -> str:
    """Clock time for today, the date for older runs."""
    if not ts:
        return ""
    local = time.localtime(ts)
    if time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d", time.localtime(now)):
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


def _mtime(run: RunDir) -> float:
    try:
        return run.path.stat().st_mtime
    except OSError:
        return 0.0
