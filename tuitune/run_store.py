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
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from tuitune.preset import Preset, load_preset

STATUSES = ("queued", "running", "stopping", "stopped", "failed", "done", "crashed")
ACTIVE = ("running", "stopping")


class RunStoreError(Exception):
    """A run that cannot be found or read; the message says which and what to do."""


def tuitune_home() -> Path:
    env = os.environ.get("TUITUNE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tuitune", appauthor=False))


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
    weights: dict[str, Any] | None = None  # which weights were saved: the best checkpoint or the last step

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
                f"{self.state_file}: unreadable ({e}); the run's events and checkpoints are untouched"
            ) from None
        return RunState.from_dict(data)

    def write_state(self, state: RunState) -> None:
        state.updated_at = time.time()
        atomic_write_text(self.state_file, json.dumps(asdict(state), indent=2) + "\n")

    def update_state(self, **changes: Any) -> RunState:
        state = self.read_state()
        for key, value in changes.items():
            setattr(state, key, value)
        self.write_state(state)
        return state

    def status(self) -> str:
        """The state's status, or ``crashed`` when it claims to run but no worker holds the run."""
        state = self.read_state()
        if state.status in ACTIVE and not self.is_locked():
            return "crashed"
        return state.status

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


def create_run(preset: Preset, root: Path | None = None) -> RunDir:
    """Make a new run directory holding the resolved preset and a ``queued`` state."""
    root = root or runs_root()
    root.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", (preset.name or "run").lower()).strip("-")[:40] or "run"
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"
    run = RunDir(root / run_id)
    run.path.mkdir()
    header = "# The resolved preset of this run (what actually runs). Rerun: tuitune run config.toml\n"
    atomic_write_text(run.config, header + tomli_w.dumps(preset.to_toml_dict()))
    run.write_state(RunState())
    return run


def find_run(ref: str, root: Path | None = None) -> RunDir:
    """A run by id, unique id prefix, or path to its directory."""
    candidate = Path(ref).expanduser()
    if (candidate / "state.json").exists():
        return RunDir(candidate)
    root = root or runs_root()
    if (root / ref / "state.json").exists():
        return RunDir(root / ref)
    matches = [r for r in list_runs(root) if r.id.startswith(ref) or r.id.endswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RunStoreError(f"{ref!r} matches {len(matches)} runs; give more of the id")
    raise RunStoreError(f"no run {ref!r} in {root}; `tuitune runs list` shows the runs")


def list_runs(root: Path | None = None) -> list[RunDir]:
    """Every run under ``root``, oldest first."""
    root = root or runs_root()
    if not root.is_dir():
        return []
    return sorted(
        (RunDir(p) for p in root.iterdir() if (p / "state.json").exists()),
        key=lambda r: r.id,
    )
