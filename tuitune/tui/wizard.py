"""The new-run screen's model, data and memory panels, UI-free.

- :func:`model_choices`: the bundled demo model, models in the local Hugging Face cache, and
  model folders under ``$TUITUNE_HOME/models`` and the current directory.
- :func:`data_choices`: the bundled datasets and data files under ``$TUITUNE_HOME/data`` and
  the current directory.
- :class:`MemoryPlanner`: the planner's peak-memory estimate of the form's preset (redone on
  every edit, so the bar follows batch, sequence length, rank and method) and its
  recommendation with the reason, from :mod:`tuitune.hardware.plan` (light: no torch);
  corrected by the past runs on this card (:mod:`tuitune.hardware.calibration`) and, once the
  data step has measured the data, planned at its real lengths.
- :class:`PlanFill`: when the planner's plan is filled in without being asked.
- :func:`data_summary`: what the data step detects, from :func:`tuitune.data.pipeline.check`
  (no tokenizer). :class:`DataDetails` runs ``tuitune data inspect`` and ``data preview`` in a
  subprocess for token statistics and the loss-mask preview: the tokenizer there is the
  torch-free one (:mod:`tuitune.models.tokenizer`), but cleaning and tokenizing a large file takes
  seconds and a subprocess can be killed the moment the form changes, where a thread cannot.

All of it can be slow (file reads, NVML): the screen calls it from thread workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE_GPU = 24 * 2**30  # no GPU here: plan for the reference card (an RTX 4090), and say so


def model_choices(cwd: Path | None = None) -> list[tuple[str, str]]:
    """(label, reference for ``model.path``), the bundled demo model first."""
    from tuitune.models.bundled import BUNDLED_MODELS, BUNDLED_PREFIX
    from tuitune.models.hub_cache import cached_models
    from tuitune.paths import tuitune_home

    out = [(f"{BUNDLED_PREFIX}{name} (demo, ships with tuitune)", BUNDLED_PREFIX + name) for name in BUNDLED_MODELS]
    out += [(f"{repo_id} (Hugging Face cache)", repo_id) for repo_id in cached_models()]
    for folder in (tuitune_home() / "models", cwd or Path.cwd()):
        if folder.is_dir():
            for sub in sorted(p for p in folder.iterdir() if (p / "config.json").is_file()):
                out.append((f"{sub} (local folder)", str(sub)))
    return out


DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")
MAX_DATA_CHOICES = 60


def data_choices(cwd: Path | None = None) -> list[tuple[str, str]]:
    """(label, reference for ``data.path``): the bundled datasets, then data files (two folders
    deep at most, hidden folders skipped) under ``$TUITUNE_HOME/data`` and the current directory."""
    from tuitune.models.bundled import BUNDLED_DATA, BUNDLED_PREFIX
    from tuitune.paths import tuitune_home

    out = [(f"{BUNDLED_PREFIX}{name} (demo, ships with tuitune)", BUNDLED_PREFIX + name) for name in BUNDLED_DATA]
    seen: set[Path] = set()
    for folder in (tuitune_home() / "data", cwd or Path.cwd()):
        if not folder.is_dir():
            continue
        for path in sorted(_data_files(folder, depth=2)):
            if path.resolve() not in seen and len(out) < MAX_DATA_CHOICES:
                seen.add(path.resolve())
                size = path.stat().st_size
                out.append((f"{path} ({size / 2**20:.1f} MiB)" if size >= 2**20 else f"{path} ({size / 1024:.0f} KiB)",
                            str(path)))
    return out


def _data_files(folder: Path, depth: int):
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith((".", "__")) or entry.name in ("node_modules", "runs"):
            continue
        if entry.is_file() and entry.suffix.lower() in DATA_SUFFIXES:
            yield entry
        elif entry.is_dir() and depth > 1 and not (entry / "config.json").exists():  # a model folder
            yield from _data_files(entry, depth - 1)


@dataclass
class MemoryView:
    """What the memory panel shows."""

    peak_bytes: int | None = None
    gpu_bytes: int | None = None
    gpu_text: str = ""
    fits: bool | None = None
    breakdown: dict[str, int] = field(default_factory=dict)
    recommendation: str = ""
    """Why the planner chose what it chose (or what to do when nothing fits)."""
    overrides: list[str] = field(default_factory=list)
    """The recommendation as preset overrides (what ``apply`` puts in the form)."""
    problem: str = ""
    reference_gpu: bool = False
    """No GPU here: the plan is for the reference card, not for this machine."""
    model_text: str = ""
    plan_text: str = ""
    """The planner's choice in one short line."""
    plan_peak_bytes: int | None = None
    """The planner's choice's own peak (the bar is the form's)."""
    form_text: str = ""
    """The form's settings that the bar is for, in the plan's words."""
    calibration: str = ""
    """What past runs on this card measured, and the correction made (empty: none yet)."""
    data_note: str = ""
    """The length planned at when the data's token statistics are known."""

    @property
    def fraction(self) -> float:
        return 0.0 if not self.peak_bytes or not self.gpu_bytes else self.peak_bytes / self.gpu_bytes


class MemoryPlanner:
    """Estimates presets against this machine's GPU (read once) and their models' shapes
    (read once per model reference)."""

    def __init__(self) -> None:
        self._gpu: tuple[int | None, bool, str] | None = None
        self._report: Any = None
        self._shapes: dict[str, Any] = {}
        self.tokens: dict[tuple, dict[str, Any]] = {}
        """Token statistics of the data step's report, per :func:`data_key`."""

    def report(self) -> Any:
        """NVML's report, read once (None when NVML itself fails)."""
        if self._report is None:
            from tuitune.hardware.nvml import read_gpus

            try:
                self._report = read_gpus()
            except Exception:  # noqa: BLE001 - no NVML is a normal answer here
                return None
        return self._report

    def gpu(self) -> tuple[int | None, bool, str]:
        if self._gpu is None:
            from tuitune.hardware.plan import detect_gpu

            try:
                report = self.report()
                self._gpu = detect_gpu(report) if report is not None else (None, False, "no GPU: NVML failed")
            except Exception as e:  # noqa: BLE001 - no NVML is a normal answer here
                self._gpu = (None, False, f"no GPU: {e}")
        return self._gpu

    def calibration(self) -> Any:
        """Past runs on this machine's card (read again on every plan: a run may just have ended)."""
        from tuitune.hardware.calibration import for_report

        return for_report(self.report())

    def plan(self, preset: Any) -> MemoryView:
        from tuitune.hardware.errors import PlannerError
        from tuitune.hardware.estimate import estimate
        from tuitune.hardware.model_shape import load_shape
        from tuitune.hardware.plan import at_data_length, recommend, setup_from_preset
        from tuitune.hardware.recommend import setup_settings
        from tuitune.hardware.setup import Setup
        from tuitune.models.files import ModelFileError
        from tuitune.runs.refs import readable_ref
        from tuitune.runs.store import RunStoreError

        gpu_bytes, bf16, gpu_text = self.gpu()
        reference = gpu_bytes is None
        if reference:  # why there is none is on the home screen
            gpu_text = "no GPU here: planned for the 24 GiB reference card"
            gpu_bytes, bf16 = REFERENCE_GPU, True
        if getattr(preset.train, "device", "auto") == "cpu":
            gpu_text += "; a CPU preset: the bar is what a GPU would need"
        ref = preset.model.path
        try:
            if ref not in self._shapes:
                self._shapes[ref] = load_shape(readable_ref(ref))
            shape = self._shapes[ref]
            # The reference card is not this machine's: its past runs say nothing about it.
            calibration = None if reference else self.calibration()
            t = preset.train
            tokens = self.tokens.get(data_key(preset))
            setup, note = at_data_length(setup_from_preset(preset, bf16), tokens, max_seq_len=t.max_seq_len,
                                         packing=t.packing)
            est = estimate(shape, setup, gpu_bytes, calibration=calibration)
            longest = at_data_length(Setup("lora", seq_len=t.max_seq_len), tokens, max_seq_len=t.max_seq_len)[0].seq_len
            p99 = min(int(tokens["p99"]), longest) if tokens and tokens.get("p99") else None
            rec = recommend(shape, gpu_bytes, seq_len=longest, seq_len_p99=p99, compute="bf16" if bf16 else "fp16",
                            calibration=calibration)
        except (PlannerError, RunStoreError, ModelFileError, OSError, ValueError, KeyError) as e:
            return MemoryView(gpu_bytes=gpu_bytes, gpu_text=gpu_text, problem=f"no estimate for {ref}: {e}",
                              reference_gpu=reference)
        settings = rec.settings()
        reason = rec.explanation if settings else "; ".join(rec.advice) or rec.explanation
        return MemoryView(est.peak_bytes, gpu_bytes, gpu_text, est.fits, dict(est.breakdown), reason,
                          rec.preset_overrides(), reference_gpu=reference, model_text=describe_shape(shape),
                          plan_text=describe_plan(settings) if settings else "nothing fits",
                          plan_peak_bytes=rec.chosen.peak_bytes if rec.chosen is not None else None,
                          form_text=describe_plan(setup_settings(setup)),
                          calibration=est.correction.reason if est.correction else "", data_note=note or "")


def data_key(preset: Any) -> tuple:
    """What the data's token statistics depend on: the file, its format and the tokenizer."""
    return (str(preset.data.path), preset.data.format, preset.model.path)


def describe_plan(settings: dict[str, Any]) -> str:
    """``lora r16 · batch 4 × 4 · seq 1024 · checkpointing · paged_adamw_8bit``"""
    method = settings["method"] + (f" r{settings['lora_r']}" if settings.get("lora_r") else "")
    accum = f" × {settings['grad_accum']}" if settings.get("grad_accum", 1) > 1 else ""
    parts = [method, f"batch {settings['batch_size']}{accum}", f"seq {settings['max_seq_len']}"]
    if settings.get("gradient_checkpointing"):
        parts.append("checkpointing")
    if settings.get("activation_offloading"):
        parts.append("offloaded activations")
    return " · ".join([*parts, str(settings.get("optimizer", ""))]).rstrip(" ·")


def describe_shape(shape: Any) -> str:
    """``llama · 134.5M parameters · 30 layers · hidden 576 · 9 heads (3 KV)``"""
    params = sum(shape.components().values())
    size = f"{params / 1e9:.2f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"
    from tuitune.hardware.model_shape import SHIPPED

    text = (f"{shape.family} · {size} parameters · {shape.num_layers} layers · hidden {shape.hidden_size} · "
            f"{shape.num_heads} heads ({shape.num_kv_heads} KV)")
    if SHIPPED in shape.source:  # planned from the shape tuitune ships: the weights are not here yet
        text += "\n" + shape.source[shape.source.index(SHIPPED):].removesuffix(")")
    return text


class PlanFill:
    """When the wizard fills in the planner's plan: once per model, only where the preset leaves
    the method to tuitune (a preset that chose its method keeps it), and only on a real GPU (the
    plan for the reference card would not be this machine's)."""

    def __init__(self) -> None:
        self.open = False
        self.filled_for: str | None = None

    def start(self, preset: Any) -> None:
        """A preset was loaded from its file."""
        self.open, self.filled_for = preset.train.method == "auto", None

    def decide(self, view: MemoryView, model: str | None) -> tuple[str, bool]:
        """(``"preset"`` | ``"no-gpu"`` | ``"filled"`` | ``"unchanged"``, fill in now?)"""
        if not self.open:
            return "preset", False
        if view.reference_gpu:
            return "no-gpu", False
        if model is None or model == self.filled_for or not view.overrides:
            return "unchanged", False
        self.filled_for = model
        return "filled", True


def memory_bar(view: MemoryView, width: int = 40) -> str:
    """``[██████░░░░] 5.2 of 24.0 GiB (22%)`` — the usable 90% is where the bar ends. The bar
    is ``width`` wide; the figures follow on the same line (or the next: see the caller)."""
    if view.peak_bytes is None or not view.gpu_bytes:
        return ""
    filled = min(width, round(view.fraction / 0.9 * width))
    bar = "█" * filled + "░" * (width - filled)
    over = " — does NOT fit" if view.fits is False else ""
    return f"[{bar}] {view.peak_bytes / 2**30:.1f} of {view.gpu_bytes / 2**30:.1f} GiB ({view.fraction:.0%}){over}"


def data_summary(preset: Any) -> list[str]:
    """What was read: file, format with its evidence, invalid rows (no tokenizer; raises DataError)."""
    from tuitune.data.hub import PREFIX as HUB_PREFIX
    from tuitune.data.pipeline import check
    from tuitune.data.report_text import import_summary, set_aside_rows, summary_rows
    from tuitune.models.bundled import BUNDLED_PREFIX

    data = check(preset.data, preset.train.stage)
    named = str(preset.data.path)  # bundled:… and hf:… say more than the folder they resolve to
    summary = import_summary(data, named if named.startswith((BUNDLED_PREFIX, HUB_PREFIX)) else str(data.path))
    return panel_lines(summary_rows(summary) + set_aside_rows(summary))


class DataDetails:
    """Cleaning report, token statistics and one loss-mask preview, computed by ``tuitune data``
    in subprocesses (they load the model's tokenizer: seconds). :meth:`cancel` stops them, so a
    user who moves on does not leave a tokenizer loading beside their training run."""

    def __init__(self, preset: Any, timeout: float = 300) -> None:
        self.preset, self.timeout = preset, timeout
        self.cancelled = False
        self._process: subprocess.Popen | None = None
        self.tokens: dict[str, Any] | None = None
        """The cleaned data's token statistics, once :meth:`run` has them (the planner's lengths)."""

    def run(self) -> list[str]:
        preset = self.preset
        common = [str(preset.data.path), "--model", preset.model.path, "--max-seq-len", str(preset.train.max_seq_len),
                  "--format", preset.data.format]
        code, out, err = self._tuitune_data("inspect", *common, "--json")
        if self.cancelled:
            return []
        if code != 0:
            return [f"tuitune data inspect failed: {(err.strip().splitlines() or ['?'])[-1]}"]
        report = json.loads(out)
        self.tokens = report.get("stats", {}).get("tokens")
        lines = report_lines(report)
        code, out, _ = self._tuitune_data("preview", *common, "--plain", "-n", "1")
        if code == 0 and out.strip():
            lines += ["", "loss mask (trained text inside ⟦ ⟧, cut text inside ✂[ ]):", *out.strip().splitlines()]
        return lines

    def cancel(self) -> None:
        self.cancelled = True
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def _tuitune_data(self, *args: str) -> tuple[int, str, str]:
        if self.cancelled:
            return -1, "", ""
        env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
        self._process = subprocess.Popen([sys.executable, "-m", "tuitune", "data", *args], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, env=env)
        try:
            out, err = self._process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise TimeoutError(f"tuitune data {args[0]} took longer than {self.timeout:.0f} s") from None
        return self._process.returncode, out, err


def report_lines(report: dict[str, Any]) -> list[str]:
    """The data report's second part as the panel shows it (the first is :func:`data_summary`):
    cleaning, split, length statistics and histogram, the rows set aside."""
    from tuitune.data.report_text import cleaning_rows, set_aside_rows

    return panel_lines(cleaning_rows(report) + set_aside_rows(report))


def panel_lines(rows: list[tuple[str, str]]) -> list[str]:
    """Report rows laid out for the narrow panel: ``label: text``, continuations indented."""
    return [f"{label}: {text}" if label else f"  {text}" for label, text in rows]
