"""Run directories: where every run lives, and the files that are the contract between the
worker that writes them and the fronts that read them (see docs in DESIGN.md)::

    $TUITUNE_HOME/runs/<run-id>/
      config.toml   the resolved preset      state.json   status, pid, step (atomic replace)
      events.jsonl  the event stream         worker.log   the worker's stdout and stderr
      data/  checkpoints/  adapter/  model/

Light core: no torch here.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from tuitune.errors import TuituneError
from tuitune.paths import atomic_write_text, safe_name, tuitune_home
from tuitune.preset import Preset, load_preset

STATUSES = ("queued", "running", "stopping", "stopped", "failed", "done", "crashed")
ACTIVE = ("running", "stopping")


class RunStoreError(TuituneError):
    """A run that cannot be found or read; the message says which and what to do."""


def runs_root() -> Path:
    return tuitune_home() / "runs"


@dataclass
class RunState:
    status: str = "queued"
    pid: int | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    updated_at: float | None = None
    finished_at: float | None = None
    step: int = 0
    total_steps: int | None = None
    loss: float | None = None
    last_checkpoint: str | None = None
    method: str | None = None
    device: str | None = None
    message: str | None = None
    attempts: int = 0
    batch_size: int | None = None
    """The micro-batch in use when it differs from the preset's (an out-of-memory retry halved it)."""
    grad_accum: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    """Settings the worker changed during the run, and why (e.g. after running out of memory)."""
    weights: dict[str, Any] | None = None  # which weights were saved: the best checkpoint or the last step

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class RunDir:
    """One run's folder and the files in it."""

    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()
        self.id = self.path.name

    config = property(lambda self: self.path / "config.toml")
    state_file = property(lambda self: self.path / "state.json")
    events = property(lambda self: self.path / "events.jsonl")
    log = property(lambda self: self.path / "worker.log")
    lock_file = property(lambda self: self.path / "worker.lock")
    data_dir = property(lambda self: self.path / "data")
    checkpoints = property(lambda self: self.path / "checkpoints")
    adapter = property(lambda self: self.path / "adapter")
    model = property(lambda self: self.path / "model")

    def preset(self) -> Preset:
        return load_preset(self.config)

    def read_state(self) -> RunState:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunStoreError(f"{self.state_file}: missing; {self.path} is not a tuitune run") from None
        except (OSError, ValueError) as e:
            raise RunStoreError(
                f"{self.state_file}: unreadable ({e}); the run's events and checkpoints are untouched. "
                f"`tuitune runs resume {self.id}` rebuilds it from events.jsonl and continues"
            ) from None
        if not isinstance(data, dict):
            raise RunStoreError(f"{self.state_file}: unreadable (not a JSON object); "
                                f"`tuitune runs resume {self.id}` rebuilds it from events.jsonl")
        return RunState.from_dict(data)

    def rebuild_state(self) -> Path:
        """Replace an unreadable state.json with one rebuilt from events.jsonl and the complete
        checkpoints. The unreadable file is kept beside it (returned), never deleted."""
        from tuitune.events import read_events
        from tuitune.runs.checkpoints import latest_checkpoint

        if self.is_locked():
            raise RunStoreError(f"run {self.id} is running; its worker keeps state.json")
        kept = self.path / f"state.json.unreadable-{time.strftime('%Y%m%d-%H%M%S')}"
        if self.state_file.exists():
            os.replace(self.state_file, kept)
        events = read_events(self.events)
        state = RunState(created_at=events[0]["ts"] if events else time.time())
        for e in events:
            kind = e["type"]
            if kind == "started":
                state.attempts += 1
                state.started_at = state.started_at or e["ts"]
            elif kind == "step":
                state.step, state.total_steps, state.loss = e["step"], e.get("total_steps"), e.get("loss")
            elif kind == "status" and e.get("status") == "loading_model":
                state.method, state.device = e.get("method"), e.get("device")
            elif kind == "retry":
                state.batch_size, state.grad_accum = e.get("batch_size"), e.get("grad_accum")
                state.changes.append({k: e.get(k) for k in ("reason", "batch_size", "grad_accum", "resume_from")})
            elif kind == "finished" and e.get("stage") != "export":
                state.status, state.finished_at = e.get("status", "failed"), e["ts"]
        if state.status in ("queued", "running", "stopping"):
            state.status = "crashed"
        checkpoint = latest_checkpoint(self.checkpoints)
        state.last_checkpoint = checkpoint.name if checkpoint else None
        state.message = f"state.json was unreadable: rebuilt from events.jsonl (the old file is {kept.name})"
        self.write_state(state)
        return kept

    def write_state(self, state: RunState) -> None:
        state.updated_at = time.time()
        atomic_write_text(self.state_file, json.dumps(asdict(state), indent=2) + "\n")

    def update_state(self, **changes: Any) -> RunState:
        state = self.read_state()
        for key, value in changes.items():
            setattr(state, key, value)
        self.write_state(state)
        return state

    launch_file = property(lambda self: self.path / "worker.pid")

    def status(self) -> str:
        """The state's status, or ``crashed`` when it claims to run but no worker holds the run,
        or when it is still ``queued`` but the worker started for it is gone (killed before it
        could take the run)."""
        state = self.read_state()
        if state.status in ACTIVE and not self.is_locked():
            return "crashed"
        if state.status == "queued" and not self.is_locked() and self._launched_worker_gone():
            return "crashed"
        return state.status

    def record_launch(self, pid: int) -> None:
        """Written by whoever starts a worker, in its own file so it never races the worker's
        writes to state.json."""
        atomic_write_text(self.launch_file, f"{pid}\n")

    def _launched_worker_gone(self) -> bool:
        try:
            pid = int(self.launch_file.read_text().strip())
        except (OSError, ValueError):
            return False  # never launched: genuinely queued
        return not pid_alive(pid)

    def is_locked(self) -> bool:
        """True while a worker process holds this run."""
        if not self.lock_file.exists():
            return False
        with open(self.lock_file, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False

    @contextmanager
    def starting(self) -> Iterator[int]:
        """The run's start lock, taken by a front that starts a worker (it waits while another
        front holds it); yields its file descriptor, which the worker inherits and closes once
        it holds the run (:func:`started`). The lock lasts while either has it open, so two fronts
        resuming one run at once start one worker, and the second then finds the run held."""
        with open(self.path / "starting.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield f.fileno()

    def acquire(self) -> Any:
        """Take the run for this process; the lock lives as long as the returned file object
        (the OS frees it when the process dies, so a killed worker never blocks a resume)."""
        f = open(self.lock_file, "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise RunStoreError(f"run {self.id} is already running in another worker process") from None
        return f


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill()
    return stat.rpartition(")")[2].split()[0] != "Z"


STARTING_FD_ENV = "TUITUNE_STARTING_FD"
"""Names the inherited descriptor of the run's start lock in a worker a front started."""


def take_run(run: RunDir, who: str) -> Any | None:
    """A worker's first act: hold ``run`` (the returned lock; None, said on stderr, when another
    worker holds it), then let go of the start lock of the front that started this one."""
    try:
        return run.acquire()
    except (RunStoreError, FileNotFoundError) as e:
        print(f"{who}: {e}", file=sys.stderr)
        return None
    finally:
        started()


def started() -> None:
    """Called by a worker once it holds its run (or knows it cannot): the front's start lock is
    let go, so a front waiting to start the same run goes on (and finds it held)."""
    fd = os.environ.pop(STARTING_FD_ENV, None)
    if fd is not None:
        with suppress(OSError, ValueError):
            os.close(int(fd))


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def create_run(preset: Preset, root: Path | None = None) -> RunDir:
    """Make a new run directory holding the resolved preset and a ``queued`` state."""
    root = (root or runs_root()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    slug = safe_name((preset.name or "run").lower()).replace(".", "-").replace("_", "-")
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"
    run = RunDir(root / run_id)
    if run.path.parent != root:  # cannot happen with safe_name; a guard, not a hope
        raise RunStoreError(f"refusing run id {run_id!r}: it would leave {root}")
    run.path.mkdir()
    write_config(run, preset)
    run.write_state(RunState())
    return run


def write_config(run: RunDir, preset: Preset) -> None:
    """The run's config.toml: the resolved preset (a queued sweep trial's is written again as it starts)."""
    header = "# The resolved preset of this run (what actually runs). Rerun: tuitune run config.toml\n"
    atomic_write_text(run.config, header + tomli_w.dumps(preset.to_toml_dict()))


def find_run(ref: str, root: Path | None = None, *, to_read: bool = False) -> RunDir:
    """A run of the runs folder, by id, unique id prefix or suffix, or the path of its folder.

    Nothing outside the runs folder is a run to act on, whatever it holds: a path is taken only
    when it resolves to a folder directly inside it whose state.json reads as a run's (so that
    `runs delete` can never be pointed at a user's folder that happens to hold a state.json).
    ``to_read``: only the run's results are read (a ``run:`` model reference, a chat target), so
    the folder of a run made under another TUITUNE_HOME is taken too, when it holds a run's state
    and preset."""
    root = root or runs_root()
    if _SAFE_ID.match(ref):  # an id; never joined under the root unless it is a plain name
        if (root / ref / "state.json").exists():
            return RunDir(root / ref)
        matches = [r for r in list_runs(root) if r.id.startswith(ref) or r.id.endswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise RunStoreError(f"{ref!r} matches {len(matches)} runs; give more of the id")
        if not Path(ref).is_dir():
            raise RunStoreError(f"no run {ref!r} in {root}; `tuitune runs list` shows the runs")
    candidate = Path(ref).expanduser()
    if not candidate.is_dir():
        raise RunStoreError(f"{ref!r} is neither a run id nor a run's folder; `tuitune runs list` shows the runs")
    if to_read and (candidate / "config.toml").is_file() and candidate.resolve().parent != root.resolve():
        run = RunDir(candidate.resolve())
        run.read_state()
        return run
    return run_in(candidate, root)


def run_in(folder: Path, root: Path | None = None) -> RunDir:
    """``folder`` as a run of the runs folder ``root``, or a :class:`RunStoreError` saying why it is none."""
    root = (root or runs_root()).resolve()
    path = folder.expanduser().resolve()
    if path.parent != root:
        raise RunStoreError(f"{folder}: not a run of {root}; tuitune acts only on the runs it made "
                            "(`tuitune runs list` shows them)")
    run = RunDir(path)
    run.read_state()  # a state.json that does not read as a run's says so, naming the file
    return run


def list_runs(root: Path | None = None) -> list[RunDir]:
    """Every run under ``root``, oldest first."""
    root = root or runs_root()
    if not root.is_dir():
        return []
    return sorted((RunDir(p) for p in root.iterdir() if (p / "state.json").exists()), key=_creation_order)


def _creation_order(run: RunDir) -> tuple[str, float, str]:
    """The id's timestamp has whole seconds and is followed by a name and a random suffix, so
    runs created in the same second are ordered by the creation time their state records."""
    try:
        created = float(json.loads(run.state_file.read_text(encoding="utf-8")).get("created_at") or 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        created = 0.0  # an unreadable state sorts first within its second; `runs show` explains it
    return run.id[:15], created, run.id


def delete_run(run: RunDir) -> None:
    """Remove a run's folder and everything in it, refusing while a worker holds it. The run's
    lock is held during the removal, so no worker can start on a half-deleted run."""
    if not run.state_file.exists():
        raise RunStoreError(f"{run.path} is not a tuitune run (no state.json); nothing deleted")
    if run.path.resolve().parent != runs_root().resolve():  # find_run's rule, kept where the removal is
        raise RunStoreError(f"{run.path}: not a run of {runs_root()}; nothing deleted")
    try:
        lock = run.acquire()
    except RunStoreError:
        raise RunStoreError(f"run {run.id} is running; stop it first (`tuitune runs stop {run.id}`)") from None
    with lock:
        shutil.rmtree(run.path)


def run_size(run: RunDir) -> int:
    """Bytes in the run's folder (checkpoints and exports make most of it)."""
    return sum(f.stat().st_size for f in run.path.rglob("*") if f.is_file())
