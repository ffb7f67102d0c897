"""`tuitune doctor --train`: a short real run of each method this machine trains, through the
worker and trainer a preset uses, and what it measured: tokens/s, the peak against the planner's
estimate, and which speed switches really took.

On a GPU: LoRA, and QLoRA when bitsandbytes is installed, on a random model of Llama-3.2-1B's
shape (its layers, sizes and vocabulary; the values do not matter for speed or memory). On the
CPU: LoRA at toy size, the same path in well under two minutes. Every row of the self-test data
is longer than ``max_seq_len``, so each micro-batch holds exactly batch x max_seq_len tokens: the
setup the planner estimates, with nothing left to chance. The runs live in a throwaway folder
under ``$TUITUNE_HOME/cache/doctor`` and never appear among the user's runs.

Light: the model is made by a worker (``python -m tuitune.weights.random_model``) and the
training by the training worker; this module only prepares, starts and reads them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuitune.doctor.report import Check
from tuitune.errors import TuituneError
from tuitune.events import read_events
from tuitune.hardware.nvml import GpuReport, gpu_report
from tuitune.hardware.reference import LABELS
from tuitune.runs.store import RunDir, create_run

GiB = 2**30
MODEL_TIMEOUT_S = 600.0
PLANNER_TOLERANCE = 0.25
"""A measured peak further than this from the estimate is worth a warning (the suite's worst-case target)."""
DEMO_DATA = Path(__file__).resolve().parent.parent / "demo" / "pirate.jsonl"


class SelfTestError(TuituneError):
    """The self-test could not be set up (its model could not be made)."""


@dataclass(frozen=True)
class Case:
    method: str
    shape: str
    """A name of :data:`tuitune.hardware.reference.CONFIGS`."""
    device: str
    steps: int
    batch: int
    max_seq_len: int

    @property
    def name(self) -> str:
        return f"train {self.method}"

    def describe(self) -> str:
        return f"{self.method} on a random {LABELS[self.shape]} ({self.device}, {self.batch} x {self.max_seq_len} tokens)"


def cases(report: GpuReport | None = None) -> list[Case]:
    """What to run here: LoRA (and QLoRA when bitsandbytes is installed) at 1B shape on a GPU,
    LoRA at toy size on the CPU."""
    report = report or gpu_report()
    if report.cpu_only:
        return [Case("lora", "toy", "cpu", steps=12, batch=4, max_seq_len=256)]
    runs = [Case("lora", "llama-1b", "cuda", steps=20, batch=4, max_seq_len=1024)]
    if importlib.util.find_spec("bitsandbytes") is not None:
        runs.append(Case("qlora", "llama-1b", "cuda", steps=20, batch=4, max_seq_len=1024))
    return runs


@dataclass
class Workspace:
    path: Path
    keep: bool = False
    """Set when something failed: its worker log is what the user needs next."""


@contextmanager
def workspace(keep: bool = False) -> Iterator[Workspace]:
    """A folder for the self-test's models, data and runs, removed afterwards unless kept."""
    from tuitune.paths import cache_dir

    root = cache_dir("doctor")
    root.mkdir(parents=True, exist_ok=True)
    work = Workspace(Path(tempfile.mkdtemp(prefix="train-", dir=root)), keep)
    try:
        yield work
    finally:
        if not work.keep:
            shutil.rmtree(work.path, ignore_errors=True)


def build_model(case: Case, work: Path) -> Path:
    """The random model of ``case``'s shape (made once per shape and device in ``work``)."""
    folder = work / f"model-{case.shape}-{case.device}"
    if (folder / "config.json").is_file():
        return folder
    command = [sys.executable, "-m", "tuitune.weights.random_model", case.shape, str(folder), "--device", case.device]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=MODEL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SelfTestError(f"making the self-test's model took over {MODEL_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SelfTestError(f"could not make the self-test's random {LABELS[case.shape]}: {tail}")
    return folder


def write_data(path: Path, max_seq_len: int, rows: int) -> Path:
    """``rows`` conversations of the demo's questions and answers, each longer than
    ``max_seq_len`` tokens (at 3 characters a token, fewer than any English tokenizer gives)."""
    pairs = [json.loads(line)["messages"] for line in DEMO_DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(path, "w", encoding="utf-8") as f:
        for row in range(rows):
            messages: list[dict[str, str]] = []
            i = row
            while sum(len(m["content"]) for m in messages) < 3 * max_seq_len:
                messages += pairs[i % len(pairs)]
                i += 7  # a different walk through the pairs for each row
            f.write(json.dumps({"messages": messages}) + "\n")
    return path


def prepare(case: Case, work: Path) -> RunDir:
    """A run of ``case`` in ``work/runs``, its preset as a user would write it: the method, the
    sizes, and every speed switch left at ``auto``."""
    from tuitune.preset import Preset

    model = build_model(case, work)
    data = write_data(work / f"data-{case.max_seq_len}.jsonl", case.max_seq_len, case.batch * case.steps)
    preset = Preset.model_validate({
        "name": f"doctor-{case.method}",
        "model": {"path": str(model)},
        # The rows are made to be distinct and long: nothing to clean, every row truncated.
        "data": {"path": str(data), "val_fraction": 0.0, "dedup_exact": False, "dedup_near": False},
        "train": {"method": case.method, "device": case.device, "max_steps": case.steps, "batch_size": case.batch,
                  "grad_accum": 1, "max_seq_len": case.max_seq_len, "save_steps": case.steps + 1,
                  # A random model learns fast at first (token frequencies): a high constant rate
                  # shows the loss falling within a dozen steps.
                  "learning_rate": 5e-3, "warmup_ratio": 0.0, "lr_scheduler": "constant"},
        "eval": {"early_stopping": False, "probe_count": 0, "general": False},
        "export": {"gguf": []},
    })
    return create_run(preset, root=work / "runs")


@dataclass
class Outcome:
    case: Case
    status: str
    message: str | None = None
    losses: list[float] = field(default_factory=list)
    tokens_per_s: float | None = None
    measured_bytes: int | None = None
    """torch's peak reserved CUDA memory; on the CPU, the worker's peak resident set."""
    estimate_bytes: int | None = None
    """What the planner says ``measured_bytes`` should read on a GPU (torch's reserved peak)."""
    speed: dict[str, Any] = field(default_factory=dict)
    run: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.case.device != "cuda" or not self.measured_bytes or not self.estimate_bytes:
            return None
        return self.measured_bytes / self.estimate_bytes

    def to_json(self) -> dict[str, Any]:
        return {"method": self.case.method, "model": LABELS[self.case.shape], "device": self.case.device,
                "batch": self.case.batch, "max_seq_len": self.case.max_seq_len, "steps": len(self.losses),
                "status": self.status, "message": self.message, "first_loss": self.losses[0] if self.losses else None,
                "last_loss": self.losses[-1] if self.losses else None, "tokens_per_s": self.tokens_per_s,
                "measured_peak_bytes": self.measured_bytes, "estimate_peak_bytes": self.estimate_bytes,
                "measured_over_estimate": None if self.ratio is None else round(self.ratio, 3),
                "speed": self.speed, "run": self.run}


def run_case(case: Case, work: Path, watch: Callable[[RunDir, subprocess.Popen[bytes]], None]) -> Outcome:
    """Prepare ``case``, start the training worker on it and let ``watch`` follow it to its end."""
    from tuitune.runs.workers import start_worker

    run = prepare(case, work)
    process = start_worker(run)
    try:
        watch(run, process)
    finally:
        if process.poll() is None:  # the front gave up following (Ctrl-C): nothing may outlive it
            process.terminate()
        process.wait()
    return outcome(case, run)


def outcome(case: Case, run: RunDir) -> Outcome:
    """What ``run`` measured, from its events and state."""
    events = read_events(run.events)
    state = run.read_state()
    status = run.status()
    result = Outcome(case, status, state.message, run=str(run.path))
    steps = [e for e in events if e["type"] == "step" and "loss" in e]
    result.losses = [e["loss"] for e in steps]
    rates = [e["tokens_per_s"] for e in steps[2:] if e.get("tokens_per_s")]  # the first steps warm up
    result.tokens_per_s = statistics.median(rates) if rates else None
    memory: dict[str, Any] = next((e for e in reversed(events) if e["type"] == "memory"), {})
    result.measured_bytes = memory.get("cuda_max_reserved_bytes") or memory.get("max_rss_bytes")
    speed = next((e for e in reversed(events) if e["type"] == "speed"), None)
    if speed is not None:
        result.speed = {k: v for k, v in speed.items() if k not in ("v", "type", "ts", "seq")}
    result.estimate_bytes = _estimate(run, result.speed)
    return result


def _estimate(run: RunDir, speed: dict[str, Any]) -> int | None:
    """The planner's torch-reserved peak for what the run really ran (the switches it engaged)."""
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.estimate import estimate
    from tuitune.hardware.model_shape import load_shape
    from tuitune.hardware.plan import as_engaged, setup_from_preset

    preset = run.preset()
    try:
        setup = as_engaged(setup_from_preset(preset), speed.get("engaged"))
        return estimate(load_shape(preset.model.path), setup).torch_reserved_bytes
    except PlannerError:
        return None


def checks(result: Outcome) -> list[Check]:
    """The report's lines for one case: the training, its memory, its speed switches."""
    case = result.case
    if result.status != "done":
        return [Check(case.name, "fail", f"{case.describe()}: the run {result.status}: {result.message or 'no message'}",
                      f"its worker's log (kept): {result.run}/worker.log")]
    first, last = result.losses[0], result.losses[-1]
    rate = f", {result.tokens_per_s:,.0f} tokens/s" if result.tokens_per_s else ""
    text = f"{case.describe()}: {len(result.losses)} steps, loss {first:.2f} → {last:.2f}{rate}"
    found = [Check(case.name, "ok", text) if last < first else
             Check(case.name, "fail", f"{text}: the loss did not fall",
                   f"training runs but does not learn: report it with its worker's log (kept): {result.run}/worker.log")]
    found.append(_memory_check(result))
    found.append(_speed_check(result))
    return found


def _memory_check(result: Outcome) -> Check:
    name = f"memory {result.case.method}"
    measured, planned = result.measured_bytes, result.estimate_bytes
    if result.case.device != "cuda":
        rss = f"peak resident set {measured / GiB:.2f} GiB" if measured else "no peak recorded"
        return Check(name, "skip", f"{rss} (the whole process); the planner models GPU memory, compared on CUDA only")
    ratio = result.ratio
    if ratio is None or measured is None or planned is None:
        return Check(name, "warn", "no peak memory was recorded", f"report it with its worker's log: {result.run}/worker.log")
    text = f"peak {measured / GiB:.2f} GiB reserved, the planner said {planned / GiB:.2f} GiB ({ratio:.0%})"
    if abs(ratio - 1) <= PLANNER_TOLERANCE:
        return Check(name, "ok", text)
    return Check(name, "warn", f"{text}: off by more than {PLANNER_TOLERANCE:.0%}",
                 "plans on this card will be off alike; leave headroom, and report it with `tuitune doctor --train --json`")


def _speed_check(result: Outcome) -> Check:
    """Each switch: what the plan chose and what the trainer really ran with (``engaged``)."""
    name = f"speed {result.case.method}"
    speed = result.speed
    engaged = speed.get("engaged")
    if not engaged:
        return Check(name, "warn", "the worker reported no speed switches", "report it with the worker's log")
    reasons = speed.get("reasons", {})
    planned_attention = speed.get("attention")
    parts = [f"attention {engaged.get('attention')}"]
    mismatched = []
    if planned_attention and engaged.get("attention") != planned_attention:
        mismatched.append(f"attention {planned_attention} was chosen but {engaged.get('attention')} runs")
    for key, label in (("padding_free", "padding-free"), ("liger", "Liger"),
                       ("activation_offloading", "activation offloading")):
        on = bool(engaged.get(key))
        why = f" ({reasons[key]})" if not on and reasons.get(key) else ""
        parts.append(f"{label} {'on' if on else 'off'}{why}")
        if bool(speed.get(key)) != on:
            mismatched.append(f"{label} was {'chosen' if speed.get(key) else 'left off'} but is {'on' if on else 'off'}")
    parts.append(f"fused loss {'on' if engaged.get('fused_loss') else 'off'}")
    parts.append(f"gradient checkpointing {'on' if engaged.get('gradient_checkpointing') else 'off'}")
    text = ", ".join(parts)
    if mismatched:
        return Check(name, "fail", f"{text}; " + "; ".join(mismatched),
                     "a speed switch did not take: report it with `tuitune doctor --train --json`")
    missing = []
    if result.case.device == "cuda":
        if not engaged.get("liger") and reasons.get("liger") == "liger-kernel not installed":
            missing.append("pip install liger-kernel")
        if engaged.get("attention") != "flash_attention_2" and "flash-attn not installed" in str(reasons.get("attention")):
            missing.append("pip install flash-attn --no-build-isolation")
    if missing:
        return Check(name, "warn", text, "faster: " + "; ".join(missing))
    return Check(name, "ok", text)
