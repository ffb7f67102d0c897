"""`tuitune plan --probe`: estimate, then measure — a few real training steps on the GPU.

The measuring runs in throwaway worker processes (:mod:`tuitune.train.probe_worker`), one
per micro-batch tried, so an out-of-memory leaves nothing behind. This module stays light: it
decides whether a probe can run, starts the workers, and keeps what they measured, with the
card's name, in ``$TUITUNE_HOME/calibration/probes.jsonl``, which the planner's calibration
(hardware/calibration.py) reads beside the runs'.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.estimate import Estimate
from tuitune.hardware.nvml import GpuReport, read_gpus

MAX_BATCH = 64


def require_gpu(report: GpuReport | None = None) -> GpuReport:
    """The GPU report, or a :class:`PlannerError` saying the probe needs a GPU and why there is none."""
    report = report or read_gpus()
    if report.cpu_only:
        raise PlannerError(
            "--probe runs real training steps and needs an NVIDIA GPU with CUDA; this machine has none "
            f"({report.cpu_only_reason}). `tuitune plan` without --probe estimates without one."
        )
    return report


@dataclass
class ProbeResult:
    estimate: Estimate
    measured: dict[str, Any]
    """The chosen setup's measurement (see probe_worker.measure)."""
    largest_batch: int | None
    tries: list[dict[str, Any]] = field(default_factory=list)
    nvml_used: int | None = None
    gpu: str | None = None
    """NVML's name of the card measured on (what the calibration is keyed by)."""

    def to_dict(self) -> dict[str, Any]:
        # The formulas' figure, before calibration: the calibration compares against it.
        return {"estimate_peak_bytes": self.estimate.uncorrected_reserved_bytes, "measured": self.measured,
                "largest_batch": self.largest_batch, "tries": self.tries, "nvml_used": self.nvml_used, "gpu": self.gpu}


def run_probe(model: str, est: Estimate, *, device: str = "cuda", steps: int = 3, search: bool = True,
              timeout: float = 900) -> ProbeResult:
    """Measure ``est``'s setup on ``model``, then double the micro-batch while it still fits."""
    setup = est.setup
    spec = {"model": model, "method": setup.method, "seq_len": setup.seq_len, "batch": setup.batch,
            "grad_checkpointing": setup.grad_checkpointing, "optimizer": setup.optimizer,
            "activation_offloading": setup.activation_offloading,
            "lora_r": setup.lora_r, "lora_dropout": setup.lora_dropout,
            "lora_targets": setup.lora_targets if isinstance(setup.lora_targets, str) else list(setup.lora_targets),
            "precision": setup.compute, "device": device, "steps": steps}
    first = run_worker(spec, timeout)
    if not first.get("fits"):
        result = ProbeResult(est, first, None, [first])
        _store(model, result)
        return result
    tries, largest, batch = [first], setup.batch, setup.batch
    while search and first.get("fits") and batch * 2 <= MAX_BATCH:
        batch *= 2
        attempt = run_worker({**spec, "batch": batch, "steps": 2}, timeout)
        tries.append(attempt)
        if not attempt.get("fits"):
            break
        largest = batch
    used, gpu = None, None
    if device == "cuda":
        report = read_gpus()
        used = report.gpus[0].memory_used if report.gpus else None
        gpu = report.gpus[0].name if report.gpus else None
    result = ProbeResult(est, first, largest, tries, used, gpu)
    _store(model, result)
    return result


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One measurement (probe_worker.measure) in a throwaway process: ``{"fits": True | False |
    None, ...}``, False on an out-of-memory (or the host's OOM killer), None when it never knew."""
    with tempfile.TemporaryDirectory(prefix="tuitune-probe-") as tmp:
        spec = {**spec, "output_dir": str(Path(tmp) / "out")}
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        try:
            proc = subprocess.run([sys.executable, "-m", "tuitune.train.probe_worker", str(spec_path),
                                   str(out_path)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"fits": None, "batch": spec["batch"], "error": f"the probe took over {timeout:.0f} s"}
        if out_path.exists():
            return json.loads(out_path.read_text(encoding="utf-8"))
        # -9: most likely the host's OOM killer; anything else: the last line of its error
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        fits = False if proc.returncode == -9 else None
        return {"fits": fits, "batch": spec["batch"], "error": f"probe worker exited {proc.returncode}: {tail}"}


def _store(model: str, result: ProbeResult) -> None:
    from tuitune.paths import tuitune_home

    path = tuitune_home() / "calibration" / "probes.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"time": time.time(), "model": model, "settings": result.estimate.setup.settings(),
              "estimate_breakdown": result.estimate.breakdown, **result.to_dict()}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
