"""Fault injection for tests only: ``TUITUNE_FAULT=NAME[:key=value,...]`` makes a real worker
fail at one chosen point, so tests can prove with real processes that tuitune recovers.
Never set it in normal use.

    kill_at_start               SIGKILL before the worker takes the run (and before it installs
                                its signal handlers)
    oom:step=N,batch_over=B     out of memory from step N on, while a micro-batch holds more
                                than B examples (MemoryError on the CPU, torch's OutOfMemoryError
                                on CUDA) — like a real OOM, a smaller batch makes it go away
    kill_in_save:step=N         SIGKILL halfway through writing checkpoint N (the weights are
                                written, the optimizer state is not)
    enospc_in_save:step=N       a write of checkpoint N fails with ENOSPC (disk full)
    kill_in_export:stage=S      SIGKILL as export stage S starts (merge, convert, quantize ..., verify)

Light: no torch at import time.
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "TUITUNE_FAULT"


def active(name: str) -> dict[str, str] | None:
    """The parameters of fault ``name`` when it is the one asked for, else None."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    fault, _, params = spec.partition(":")
    if fault != name:
        return None
    pairs = (item.partition("=") for item in params.split(",") if item.strip())
    return {key.strip(): value.strip() for key, _, value in pairs}


def kill_self(where: str) -> None:
    """Die the way a killed process dies: no cleanup, no handlers, no flushing."""
    print(f"{ENV}: SIGKILL {where}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def at_start() -> None:
    if active("kill_at_start") is not None:
        kill_self("at start")


def during_save(step: int) -> None:
    """Called between writing a checkpoint's weights and its optimizer state."""
    kill = active("kill_in_save")
    if kill is not None and int(kill.get("step", step)) == step:
        kill_self(f"while saving checkpoint {step}")
    full = active("enospc_in_save")
    if full is not None and int(full.get("step", step)) == step:
        raise OSError(errno.ENOSPC, f"No space left on device (injected by {ENV})")


def oom_at_step(step: int, batch_size: int) -> str | None:
    """Called as optimizer step ``step`` (1-based) begins: the message of the injected
    out-of-memory error the worker must raise now, or None. (The worker raises it, as torch's
    own error on CUDA: this module stays free of torch.)"""
    oom = active("oom")
    if oom is None or step < int(oom.get("step", 1)) or batch_size <= int(oom.get("batch_over", 0)):
        return None
    return f"tried to allocate memory for a batch of {batch_size} (injected by {ENV})"


def export_stage(stage: str) -> None:
    kill = active("kill_in_export")
    if kill is not None and stage.startswith(kill.get("stage", stage)):
        kill_self(f"during export stage {stage!r}")
