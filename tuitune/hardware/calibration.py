"""The planner's calibration: what past runs on this card really used, against what the planner
predicted for them, and the correction that follows.

One small file, ``$TUITUNE_HOME/calibration/runs.jsonl``, one JSON object per line, written by
the training worker at the end of every CUDA run (:func:`record_run`); the probes of `tuitune
plan --probe` (``probes.jsonl`` beside it) count too when they name their card. A reader
(:func:`for_gpu`) gives, per GPU model name as NVML reports it, the median of measured /
predicted torch-reserved bytes and a one-line reason; the planner scales its estimate by it
(:meth:`Correction.scale`). The rules and why: docs/planner.md, "Calibration".

Light core: no torch. A corrupt or half-written line is skipped, never fatal: the planner must
answer with or without this file.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuitune.hardware.estimate import estimate
from tuitune.hardware.shapes import ModelShape
from tuitune.hardware.stages import sequences_per_row

VERSION = 1
RUNS_FILE = "runs.jsonl"
PROBES_FILE = "probes.jsonl"
KEEP = 200
"""Records kept in runs.jsonl (the oldest go first): enough for every card and method a person
uses, small enough to read on every plan."""
MIN_RUNS = 2
"""One run can be an outlier (another program on the card, an unusual batch); two agree or not."""
FACTOR_RANGE = (0.7, 1.5)
"""How far a correction may move the estimate: past that, the runs measured something else than
the planner models (another stack, a shared card), and trusting them would plan an OOM or waste
the card."""
COMPARABLE = (0.2, 5.0)
"""A ratio outside this is not a measurement of the same thing (a run stopped before its first
step, a probe that failed): left out."""
NAMES = {"full": "full fine-tuning", "lora": "LoRA", "qlora": "QLoRA"}


def calibration_dir(home: Path | None = None) -> Path:
    from tuitune.paths import tuitune_home

    return (home or tuitune_home()) / "calibration"


@dataclass(frozen=True)
class Sample:
    """One past measurement: the card, the method and measured / predicted."""

    gpu: str
    method: str
    ratio: float
    source: str  # "run" or "probe"
    time: float = 0.0


@dataclass(frozen=True)
class Correction:
    """What the planner does with the past runs of one card (and method)."""

    gpu: str
    method: str | None
    """The method whose runs were used; None: every method's runs on the card."""
    ratio: float | None
    """Median measured / predicted over ``runs`` records (None without records)."""
    runs: int
    factor: float
    """What the estimate is scaled by: ``ratio`` clamped to :data:`FACTOR_RANGE`, 1.0 with fewer
    than :data:`MIN_RUNS` records."""
    reason: str

    @property
    def applied(self) -> bool:
        return self.factor != 1.0

    def scale(self, reserved_bytes: int) -> int:
        """The change to a torch-reserved estimate (signed bytes): the breakdown's ``calibration`` term."""
        return int(round((self.factor - 1.0) * reserved_bytes))

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.gpu, "method": self.method, "ratio": None if self.ratio is None else round(self.ratio, 3),
                "runs": self.runs, "factor": round(self.factor, 3), "applied": self.applied, "reason": self.reason}


@dataclass
class Calibration:
    """The usable past measurements of one GPU model."""

    gpu: str
    samples: list[Sample] = field(default_factory=list)

    def for_method(self, method: str) -> Correction | None:
        """The correction for ``method``: its own runs when there are enough, else every run on
        the card (the constants it corrects, allocator slack and CUDA context, are shared).
        None when this card has no past runs at all."""
        same = [s for s in self.samples if s.method == method]
        used, scope = (same, method) if len(same) >= MIN_RUNS or len(same) == len(self.samples) else (self.samples, None)
        if not used:
            return None
        ratio = statistics.median(s.ratio for s in used)
        runs = len(used)
        who = f"past {NAMES.get(method, method)} runs" if scope else "past runs"
        if runs == 1:
            who = who.replace("runs", "run")
        seen = (f"on this card ({self.gpu}) {who} peaked at {_pct(ratio)} of the estimate "
                f"({runs} {'run' if runs == 1 else 'runs'})")
        if runs < MIN_RUNS:
            return Correction(self.gpu, scope, ratio, runs, 1.0,
                              f"{seen}; not corrected until {MIN_RUNS} runs agree")
        lo, hi = FACTOR_RANGE
        factor = min(hi, max(lo, ratio))
        how = f"planned at {_pct(factor)}" + (" (the most a correction may move it)" if factor != ratio else "")
        return Correction(self.gpu, scope, ratio, runs, factor, f"{seen}: {how}")


def for_gpu(gpu: str | None, home: Path | None = None) -> Calibration | None:
    """The calibration of the card named ``gpu`` (NVML's name), or None without a card."""
    if not gpu:
        return None
    key = _key(gpu)
    return Calibration(gpu.strip(), [s for s in read_samples(home) if _key(s.gpu) == key])


def for_report(report: Any, home: Path | None = None) -> Calibration | None:
    """The calibration of the first GPU of an NVML report (the one the planner plans for)."""
    if report is None or getattr(report, "cpu_only", True) or not report.gpus:
        return None
    return for_gpu(report.gpus[0].name, home)


def read_samples(home: Path | None = None) -> list[Sample]:
    """Every usable record of runs.jsonl and probes.jsonl, oldest first. Lines that are not JSON,
    lack a field or hold nonsense are skipped: a file cut by a crash, or edited by hand, must
    never stop the planner."""
    folder = calibration_dir(home)
    samples = []
    for name, parse in ((RUNS_FILE, _from_run), (PROBES_FILE, _from_probe)):
        for record in _records(folder / name)[-KEEP:]:
            try:
                sample = parse(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if sample is not None and COMPARABLE[0] <= sample.ratio <= COMPARABLE[1]:
                samples.append(sample)
    return samples


def _records(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _from_run(r: dict) -> Sample | None:
    predicted, measured = float(r["predicted_reserved_bytes"]), float(r["measured_reserved_bytes"])
    if predicted <= 0 or measured <= 0 or not math.isfinite(measured / predicted):
        return None
    return Sample(str(r["gpu"]), str(r["method"]), measured / predicted, "run", float(r.get("time") or 0))


def _from_probe(r: dict) -> Sample | None:
    # Probes written before they named their card cannot be placed: skipped.
    measured, gpu = r.get("measured") or {}, r.get("gpu")
    if not gpu or measured.get("fits") is not True or not measured.get("torch_max_reserved"):
        return None
    predicted = float(r["estimate_peak_bytes"])
    if predicted <= 0:
        return None
    return Sample(str(gpu), str(r["settings"]["method"]), float(measured["torch_max_reserved"]) / predicted, "probe",
                  float(r.get("time") or 0))


def record_run(preset: Any, memory: dict[str, Any], gpu: str | None, shape: ModelShape, *, run_id: str | None,
               bf16: bool = True, speed: dict[str, Any] | None = None, home: Path | None = None) -> dict | None:
    """Append what a finished (or stopped) CUDA run measured against what the planner predicts
    for it; returns the record, or None when there is nothing to compare (a CPU run: no card and
    no CUDA counters; a run that never took a step).

    ``preset`` is the run's effective preset (its method, precision and checkpointing as the
    worker resolved them); ``memory`` is its ``memory`` event; ``speed`` its ``speed`` event
    (what padding-free, Liger and the attention really were). The prediction is made for the
    largest micro-batch the run trained on (``max_batch_tokens``), so the ratio measures the
    planner, not how long the data happened to be.
    """
    from tuitune.hardware.plan import setup_from_preset

    measured = memory.get("cuda_max_reserved_bytes")
    if not gpu or not measured or not memory.get("step"):
        return None
    setup = setup_from_preset(preset, bf16)
    if speed:
        attention = speed.get("attention")
        setup = setup.with_(padding_free=bool(speed.get("padding_free", setup.padding_free)),
                            liger=bool(speed.get("liger", setup.liger)),
                            attention=attention if attention in ("sdpa", "eager", "flash_attention_2") else setup.attention)
    tokens = memory.get("max_batch_tokens")
    if tokens:
        rows = setup.batch * sequences_per_row(setup.stage)  # DPO, ORPO, SimPO: chosen and rejected, one batch
        setup = setup.with_(seq_len=max(1, math.ceil(tokens / rows)))
    predicted = estimate(shape, setup).torch_reserved_bytes
    record = {
        "v": VERSION, "time": round(time.time(), 3), "run_id": run_id, "gpu": gpu.strip(),
        "model": str(preset.model.path), "method": setup.method, "stage": setup.stage,
        "settings": {**setup.settings(), "padding_free": setup.padding_free, "liger": setup.liger,
                     "attention": setup.attention, "compute": setup.compute},
        "max_batch_tokens": tokens, "step": memory.get("step"),
        "predicted_reserved_bytes": predicted, "measured_reserved_bytes": int(measured),
        "measured_allocated_bytes": memory.get("cuda_max_allocated_bytes"),
        "ratio": round(measured / predicted, 4) if predicted else None,
    }
    append(record, home)
    return record


def append(record: dict, home: Path | None = None) -> None:
    """Add one record to runs.jsonl, keeping the last :data:`KEEP`."""
    from tuitune.paths import atomic_write_text

    path = calibration_dir(home) / RUNS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab+") as f:
        torn = False
        if f.seek(0, os.SEEK_END):
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b"\n"
        # A worker killed mid-line left a torn last line: end it, so this record reads whole.
        f.write((b"\n" if torn else b"") + json.dumps(record).encode() + b"\n")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) > 2 * KEEP:  # trimmed now and then, not on every run: one rewrite per KEEP runs
        atomic_write_text(path, "".join(line + "\n" for line in lines[-KEEP:]))


def _key(gpu: str) -> str:
    return " ".join(gpu.split()).casefold()


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"
