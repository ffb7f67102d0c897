"""One run on several processes: the worker (``python -m tuitune.train RUN_DIR``) becomes their
supervisor. It keeps what makes a run one run — the run's lock, its pid in state.json, the
first and last events — and starts the ranks through accelerate's launcher
(``python -m accelerate.commands.launch --config_file RUN_DIR/launch/accelerate.yaml -m
tuitune.train.rank RUN_DIR``), which runs torch's elastic agent: it starts the ranks, and when
one dies it ends the others and exits.

The contract (DESIGN.md, docs/distributed.md):

- only rank 0 writes events and state while training (train/ranks.py); the supervisor writes
  before the launch and after the launcher exits, never during;
- a stop (`tuitune runs stop`: SIGTERM, or SIGINT, to this process) is passed to every rank as
  SIGUSR1; the ranks agree at the end of the step and stop together, with a checkpoint;
- a rank that dies without saying how it ended (SIGKILL, the OOM killer) leaves the run
  ``crashed``, resumable from its last complete checkpoint; the launcher dies with this process
  (PR_SET_PDEATHSIG) and each rank watches this process, so nothing is left running;
- a rank that fails with an error leaves the run ``failed`` with that error's message.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

from tuitune.errors import TuituneError
from tuitune.events import EventWriter
from tuitune.hardware import cpu
from tuitune.preset import Preset
from tuitune.runs.store import RunDir, pid_alive
from tuitune.train.launch_config import Launch, rank_env, write_config
from tuitune.train.ranks import RANK_ENV, outcome_file

SUPERVISOR_ENV = "TUITUNE_SUPERVISOR_PID"


CPU_FSDP = (
    "FSDP does not shard on the CPU: accelerate turns FSDP on only for GPU-like devices (on the CPU its "
    "state stays MULTI_CPU) and torch's FSDP1 refuses a CPU device, so this run trains as DDP, a full "
    "replica per process, through the same launch, events and checkpoints; sharding needs CUDA GPUs"
)
"""Measured with torch 2.13 / accelerate 1.15 (docs/distributed.md): torch's FSDP2 ``fully_shard``
does run on the CPU over gloo, but neither accelerate nor the Trainer use it there."""


class DistributedError(TuituneError):
    """A multi-process run that cannot start as asked (the message says which key to change)."""


class RanksCrashed(Exception):  # noqa: N818 - a run's end, recorded as `crashed`
    """A rank died without recording how it ended; the run is ``crashed`` and resumable."""


def plan_launch(preset: Preset) -> Launch | None:
    """The layout ``[train] distributed`` / ``num_processes`` ask for here, or None for one
    process. ``auto`` spreads a run over the visible GPUs only when the planner says how
    (train/auto_distributed.py); on the CPU it always means one process."""
    t = preset.train
    if t.distributed == "none" or (t.num_processes == 1 and t.distributed != "auto"):
        return None
    gpus = _visible_gpu_count()
    cpu = t.device == "cpu" or gpus == 0
    if cpu and t.device == "cuda":
        raise DistributedError("train.device is 'cuda' but PyTorch sees no CUDA GPU; set device = 'auto' or 'cpu'")
    if t.distributed == "auto":
        if cpu:
            return None
        from tuitune.train.auto_distributed import choose

        return choose(preset, gpus)
    if t.distributed == "deepspeed":
        import importlib.util

        if importlib.util.find_spec("deepspeed") is None:
            raise DistributedError("train.distributed = 'deepspeed' needs the deepspeed package (pip install deepspeed); "
                                   "or use 'fsdp', which shards the same way without it")
        if cpu:
            raise DistributedError("train.distributed = 'deepspeed' needs CUDA GPUs; on the CPU use 'ddp' or 'fsdp'")
    if cpu:
        if t.num_processes is None:
            raise DistributedError(f"train.distributed = {t.distributed!r} on the CPU needs train.num_processes "
                                   "(e.g. 2): there are no GPUs to count")
        n = t.num_processes
    else:
        n = t.num_processes or gpus
        if n > gpus:
            raise DistributedError(f"train.num_processes = {n} but {gpus} GPU(s) are visible "
                                   "(CUDA_VISIBLE_DEVICES); one process per GPU")
    if n == 1:
        return None
    why = f"asked for: train.distributed = {t.distributed!r} on {n} {'CPU processes (gloo)' if cpu else 'GPUs'}"
    return Launch(t.distributed, n, "cpu" if cpu else "cuda", why, precision=t.precision)


def _visible_gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0  # honours CUDA_VISIBLE_DEVICES


def supervise(run: RunDir, preset: Preset, events: EventWriter, launch: Launch) -> str:
    """Run the ranks to their end; returns ``done`` or ``stopped``, raises the failure of a rank
    that failed (its message), or :class:`RanksCrashed` when one died without a word."""
    folder = run.path / "launch"
    config = write_config(folder, launch)
    for old in [*folder.glob("outcome-*.json"), *folder.glob("rank-*.pid")]:
        old.unlink()
    events.emit("launch", sync=True, config=str(config), **launch.to_event())
    if launch.strategy == "fsdp" and launch.device == "cpu":
        events.emit("warning", source="distributed", code="fsdp_on_cpu", message=CPU_FSDP)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
               "--monitor_interval", "0.5", "-m", "tuitune.train.rank", str(run.path)]
    env = dict(os.environ, **rank_env(launch), **{RANK_ENV: str(run.path), SUPERVISOR_ENV: str(os.getpid())})
    # The run's thread budget is shared by its ranks: N ranks of OMP_NUM_THREADS each would
    # oversubscribe the cores N times over.
    env["OMP_NUM_THREADS"] = str(max(1, cpu.threads() // launch.num_processes))
    stop = _StopForwarder(run, launch.num_processes)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.flush()
    log_start = run.log.stat().st_size if run.log.exists() else 0
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
    try:
        code = process.wait()
    finally:
        events.continue_sequence()  # rank 0 wrote the events in between
        _reap_ranks(run, launch.num_processes)
    return _outcome(run, launch, code, log_start)


class _StopForwarder:
    """SIGTERM/SIGINT here: SIGUSR1 to each rank (they agree on the step and save), once."""

    def __init__(self, run: RunDir, n: int):
        self.run, self.n, self.sent = run, n, False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.sent:
            return
        self.sent = True
        for pid in _rank_pids(self.run, self.n):
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        # A rank still importing has not written its pid yet: it reads the stop file at start.
        (self.run.path / "launch" / "stop").touch()


def _rank_pids(run: RunDir, n: int) -> list[int]:
    pids = []
    for i in range(n):
        try:
            pids.append(int((run.path / "launch" / f"rank-{i}.pid").read_text().strip()))
        except (OSError, ValueError):
            pass
    return pids


def _reap_ranks(run: RunDir, n: int) -> None:
    """The launcher is gone; a rank of this run it left behind is ended (it would hold a GPU)."""
    for pid in _rank_pids(run, n):
        if pid_alive(pid) and _is_rank_of(pid, run):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(pid_alive(p) and _is_rank_of(p, run) for p in _rank_pids(run, n)) and time.monotonic() < deadline:
        time.sleep(0.05)


def _is_rank_of(pid: int, run: RunDir) -> bool:
    try:
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        return False
    return f"{RANK_ENV}={run.path}".encode() in environ


def _outcome(run: RunDir, launch: Launch, code: int, log_start: int = 0) -> str:
    outcomes: dict[int, dict[str, Any]] = {}
    for i in range(launch.num_processes):
        try:
            outcomes[i] = json.loads(outcome_file(run, i).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    if code == 0 and 0 in outcomes and len(outcomes) == launch.num_processes:
        return outcomes[0]["status"]
    # Which rank ended first decides: when it died without a word (a signal), the errors the
    # others then hit (gloo/NCCL: "connection reset by peer") are consequences, and the run
    # crashed; when it failed with an error, that error is the run's.
    first = _root_cause(run, log_start)
    failed = {i: o for i, o in outcomes.items() if o.get("status") == "failed"}
    if failed and (first is None or first[0] in failed):
        chosen = failed[first[0]] if first is not None else next(iter(failed.values()))
        raise RankFailed(chosen.get("message") or "a rank failed; worker.log says why")
    from tuitune.runs.checkpoints import latest_checkpoint

    checkpoint = latest_checkpoint(run.checkpoints)
    resume = (f"`tuitune runs resume {run.id}` continues from {checkpoint.name}" if checkpoint
              else f"no checkpoint was complete: `tuitune runs resume {run.id} --from-scratch` starts again")
    if first is not None:
        rank, exit_code = first
        how = f"killed by {signal.Signals(-exit_code).name}" if exit_code < 0 else f"exit code {exit_code}"
        what = f"rank {rank} of {launch.num_processes} died ({how}"
    else:
        what = f"a rank of {launch.num_processes} died (the launcher exited with code {code}"
    raise RanksCrashed(f"{what}; killed by hand, or out of host memory); the launcher ended the other ranks. "
                       f"{resume}")


_FAILURE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank.*?exitcode\s*:\s*(-?\d+)", re.S)


def _root_cause(run: RunDir, since: int = 0) -> tuple[int, int] | None:
    """(rank, exit code) of the rank whose end brought the run down, from the report torch's
    elastic agent prints into worker.log (from byte ``since``: this launch's part): a rank killed
    by a signal other than the agent's own SIGTERM when the report has one (the others' errors
    follow from it: a peer gone), else the report's first failure; None without a report."""
    try:
        with open(run.log, "rb") as f:
            end = f.seek(0, 2)
            f.seek(max(since, end - 65536))
            tail = f.read().decode(errors="replace")
    except OSError:
        return None
    report = tail.rpartition("ChildFailedError")[2] if "ChildFailedError" in tail else ""
    found = [(int(r), int(c)) for r, c in _FAILURE.findall(report)]
    # SIGTERM is what the agent sends the survivors: another signal (SIGKILL) is the cause.
    killed = [f for f in found if f[1] < 0 and f[1] != -signal.SIGTERM]
    ranked = killed or [f for f in found if f[1] < 0] or found
    return ranked[0] if ranked else None


class RankFailed(TuituneError):
    """A rank's own error, as it explained it."""


def _die_with_parent() -> None:
    """In the launcher, before it runs: SIGKILL when this supervisor dies (Linux), so a killed
    supervisor leaves no launcher behind (the ranks watch the supervisor: train/rank.py)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
