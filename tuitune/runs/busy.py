"""Which runs are training on the CPU right now: a chat in the same process competes with them
for the same cores (seen: a CPU step went from 2 s to 35 s, the chat fell to 0.3 tokens/s), so
the chat takes fewer threads and says why."""

from __future__ import annotations

from tuitune.events import iter_type, read_events
from tuitune.hardware.cpu import threads
from tuitune.runs.store import ACTIVE, RunDir, RunStoreError, list_runs


def cpu_training_runs() -> list[RunDir]:
    """The runs whose worker holds them now and trains (or loads) on the CPU."""
    busy = []
    for run in list_runs():
        try:
            if run.status() in ACTIVE and run_device(run) == "cpu":
                busy.append(run)
        except (RunStoreError, OSError, ValueError):
            continue  # a run being written or deleted meanwhile is nobody's business here
    return busy


def chat_threads(training: list[RunDir]) -> int:
    """Threads for llama.cpp: every core when nothing trains, else half (at least one)."""
    cores = threads()
    return cores if not training else max(1, cores // 2)


def run_device(run: RunDir) -> str:
    """The device the worker said it loads on; before it says, the preset's (``auto`` counts
    as the CPU where NVML sees no GPU)."""
    said = [e.get("device") for e in iter_type(read_events(run.events), "status") if e.get("status") == "loading_model"]
    if said and said[-1]:
        return str(said[-1])
    device = run.preset().train.device
    if device != "auto":
        return device
    from tuitune.hardware.nvml import gpu_report

    return "cpu" if not gpu_report().gpus else "cuda"
