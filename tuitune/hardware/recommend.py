"""Choose the method and settings that fit a GPU: full, then LoRA, then QLoRA — the first that
fits with a safety margin — with the largest micro-batch that fits, gradient accumulation to
reach the target effective batch, and checkpointing, an 8-bit optimizer or activation offloading
only when needed.

``recommend()`` is what `tuitune plan` prints and what the worker calls for ``method = "auto"``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.estimate import Estimate, GiB, estimate
from tuitune.hardware.setup import AUTO_METHODS, METHODS, Setup
from tuitune.hardware.shapes import ModelShape

if TYPE_CHECKING:
    from tuitune.hardware.calibration import Calibration

DEFAULT_MARGIN = 0.9  # plan to use at most 90% of the GPU: allocator spikes, other programs
NAMES = {"full": "Full fine-tuning", "lora": "LoRA", "qlora": "QLoRA", "ia3": "IA3", "prompt_tuning": "Prompt tuning",
         "prefix_tuning": "Prefix tuning", "freeze": "Freeze-tuning"}


def setup_settings(s: Setup) -> dict[str, Any]:
    """Preset-shaped settings of a setup (keys of [train] and [lora]): a plan's, or a form's."""
    out: dict[str, Any] = {"method": s.method, "batch_size": s.batch, "grad_accum": s.grad_accum, "max_seq_len": s.seq_len,
                           "gradient_checkpointing": s.grad_checkpointing, "optimizer": s.optimizer}
    if s.activation_offloading:
        out["activation_offloading"] = True
    if s.method != "full":
        out["lora_r"] = s.lora_r
        out["lora_targets"] = s.lora_targets if isinstance(s.lora_targets, str) else list(s.lora_targets)
    return out


@dataclass
class Recommendation:
    chosen: Estimate | None
    options: list[Estimate]
    explanation: str
    gpu_bytes: int | None
    advice: list[str] = field(default_factory=list)

    @property
    def method(self) -> str | None:
        return self.chosen.setup.method if self.chosen else None

    def settings(self) -> dict | None:
        """Preset-shaped settings of the choice (keys of [train] and [lora])."""
        return None if self.chosen is None else setup_settings(self.chosen.setup)

    def preset_overrides(self) -> list[str]:
        """The choice as `-s KEY=VALUE` preset overrides (what `tuitune run` applies for method auto)."""
        settings = self.settings()
        if settings is None:
            return []
        keys = {"method": "train.method", "batch_size": "train.batch_size", "grad_accum": "train.grad_accum",
                "max_seq_len": "train.max_seq_len", "gradient_checkpointing": "train.gradient_checkpointing",
                "optimizer": "train.optimizer", "lora_r": "lora.r", "lora_targets": "lora.target_modules",
                "activation_offloading": "train.activation_offloading"}
        return [f"{keys[k]}={json.dumps(v)}" for k, v in settings.items()]

    def to_dict(self) -> dict:
        chosen = None
        if self.chosen is not None:
            chosen = {**(self.settings() or {}), "peak_gb": round(self.chosen.peak_bytes / GiB, 2), "fits": True}
        correction = self.chosen.correction if self.chosen is not None else None
        return {"recommended": chosen, "explanation": self.explanation, "advice": self.advice,
                "gpu_gb": None if self.gpu_bytes is None else round(self.gpu_bytes / GiB, 2),
                "options": [e.to_dict() for e in self.options],
                "calibration": None if correction is None else correction.to_dict()}


def recommend(
    shape: ModelShape,
    gpu_bytes: int | None,
    *,
    seq_len: int = 1024,
    seq_len_p99: int | None = None,
    target_batch: int = 16,
    batch: int | None = None,
    lora_r: int = 16,
    lora_targets: str | tuple[str, ...] = "all-linear",
    optimizer: str | None = None,
    grad_checkpointing: bool | None = None,
    activation_offloading: bool | None = None,
    attention: str = "auto",
    methods: tuple[str, ...] = AUTO_METHODS,
    compute: str = "bf16",
    margin: float = DEFAULT_MARGIN,
    stage: str = "sft",
    precompute_ref: bool = False,
    calibration: Calibration | None = None,
) -> Recommendation:
    """The first method of ``methods`` that fits ``gpu_bytes``; given settings are kept as is.

    ``seq_len`` is the longest sequence to train on (the dataset's max, or max_seq_len); with
    ``seq_len_p99`` a setup that fits only when the longest 1% are truncated is accepted too.
    ``calibration``: past runs on this card correct every estimate (hardware/calibration.py).
    ``activation_offloading`` None lets the search turn it on (SFT only) when nothing fits without.
    """
    if target_batch < 1 or (batch is not None and batch < 1):
        raise PlannerError("batch sizes must be positive integers")
    base = Setup("lora", seq_len=seq_len, lora_r=lora_r, lora_targets=lora_targets, compute=compute,
                 stage=stage, precompute_ref=precompute_ref, attention=attention)
    if stage != "sft":
        activation_offloading = False  # the preset allows it for SFT only
    fixed = {"optimizer": optimizer, "grad_checkpointing": grad_checkpointing, "batch": batch,
             "activation_offloading": activation_offloading}
    if gpu_bytes is None:
        options = [estimate(shape, _frugal(base.with_(method=m), fixed), calibration=calibration) for m in methods]
        return Recommendation(None, options, "No GPU memory to plan for: pass the GPU's size (--gpu-gb).", None)
    lengths = [seq_len] + ([seq_len_p99] if seq_len_p99 and seq_len_p99 < seq_len else [])
    options, chosen = [], None
    for method in methods:
        found = None
        for length in lengths:
            found = _best_fit(shape, base.with_(method=method, seq_len=length), fixed, target_batch, gpu_bytes, margin,
                              calibration)
            if found:
                break
        options.append(found or estimate(shape, _frugal(base.with_(method=method), fixed), gpu_bytes, margin,
                                         calibration=calibration))
        if found and chosen is None:
            chosen = found
    if chosen is None:
        return Recommendation(None, options, _nothing_fits(shape, gpu_bytes), gpu_bytes,
                              _advice(shape, base, gpu_bytes, margin, calibration))
    return Recommendation(chosen, options, _explain(shape, chosen, options, seq_len), gpu_bytes)


def _frugal(setup: Setup, fixed: dict) -> Setup:
    """The least memory a method can take: micro-batch 1, checkpointing, an 8-bit paged optimizer."""
    return setup.with_(batch=fixed["batch"] or 1,
                       grad_checkpointing=True if fixed["grad_checkpointing"] is None else fixed["grad_checkpointing"],
                       optimizer=fixed["optimizer"] or ("paged_adamw_8bit" if setup.method == "full" else "adamw"),
                       activation_offloading=bool(fixed["activation_offloading"]))


def _best_fit(shape, setup: Setup, fixed, target: int, gpu: int, margin: float,
              calibration: Calibration | None = None) -> Estimate | None:
    optimizers = [fixed["optimizer"]] if fixed["optimizer"] else (
        ["adamw", "adamw_8bit", "paged_adamw_8bit"] if setup.method == "full" else ["adamw", "paged_adamw_8bit"])
    checkpointing = [fixed["grad_checkpointing"]] if fixed["grad_checkpointing"] is not None else [False, True]
    batches = [fixed["batch"]] if fixed["batch"] else [b for b in (64, 32, 16, 8, 4, 2, 1) if b <= target] or [1]
    offload = fixed["activation_offloading"]

    def largest_fit(opt: str, gc: bool, off: bool) -> Estimate | None:
        for b in batches:
            est = estimate(shape, setup.with_(optimizer=opt, grad_checkpointing=gc, batch=b, activation_offloading=off,
                                              grad_accum=max(1, math.ceil(target / b))), gpu, margin,
                           calibration=calibration)
            if est.fits:
                return est
        return None

    for opt in optimizers:
        largest = {gc: largest_fit(opt, gc, bool(offload)) for gc in checkpointing}
        # Checkpointing costs ~30% speed: skip it when the micro-batch is already decent without.
        no_gc, gc_on = largest.get(False), largest.get(True)
        if no_gc and (no_gc.setup.batch >= min(4, target) or not gc_on):
            return no_gc
        if gc_on:
            return gc_on
        # The last rung, for a long context: the saved activations go to CPU RAM (slower by the
        # copies the compute does not hide), after checkpointing has made them small.
        if offload is None and (found := largest_fit(opt, fixed["grad_checkpointing"] is not False, True)):
            return found
    return None


def _gib(b: float) -> str:
    return f"{b / GiB:.1f} GiB"


def _explain(shape: ModelShape, chosen: Estimate, options: list[Estimate], seq_len: int) -> str:
    s = chosen.setup
    size = f"{shape.total_params / 1e9:.1f}B" if shape.total_params >= 1e9 else f"{shape.total_params / 1e6:.0f}M"
    lead = f"{NAMES[s.method]} fits: this {size}-parameter model needs about {_gib(chosen.peak_bytes)} " \
           f"of your {_gib(chosen.gpu_bytes or 0)}."
    skipped = [o for o in options if METHODS.index(o.setup.method) < METHODS.index(s.method)]
    if skipped:
        why = "; ".join(f"{NAMES[o.setup.method].lower()} would need {_gib(o.peak_bytes)} even at its leanest"
                        for o in skipped)
        lead += f" ({why}.)"
    accum = f", accumulated over {s.grad_accum} passes" if s.grad_accum > 1 else ""
    how = (f" Each optimizer step learns from {s.batch * s.grad_accum} sequences of up to {s.seq_len} tokens: "
           f"{s.batch} at a time{accum}")
    how += (", with gradient checkpointing (recomputes activations: less memory, ~30% slower)."
            if s.grad_checkpointing else ".")
    if s.activation_offloading:
        how += (f" The saved activations are offloaded to CPU RAM (about {_gib(chosen.host_bytes)} of it, pinned): "
                "without that this length does not fit.")
    if s.optimizer != "adamw":
        how += f" The {s.optimizer} optimizer keeps its state in 8 bits to make room."
    if s.seq_len < seq_len:
        how += f" Sequences longer than {s.seq_len} tokens (the longest 1%) will be truncated."
    if chosen.correction is not None:
        how += f" Calibration: {chosen.correction.reason}."
    return lead + how


def _nothing_fits(shape: ModelShape, gpu: int) -> str:
    return (f"Nothing fits: even QLoRA with one sequence at a time needs more than {_gib(DEFAULT_MARGIN * gpu)} "
            f"(90% of {_gib(gpu)}) for this {shape.total_params / 1e9:.1f}B-parameter model.")


def _advice(shape: ModelShape, base: Setup, gpu: int, margin: float, calibration: Calibration | None = None) -> list[str]:
    advice = []
    lean = base.with_(method="qlora", batch=1, grad_checkpointing=True, optimizer="paged_adamw_8bit",
                      activation_offloading=base.stage == "sft")
    lo, hi = 0, base.seq_len
    while hi - lo > 16:  # the longest sequence QLoRA fits, to the nearest 16 tokens
        mid = (lo + hi) // 2
        fits = estimate(shape, lean.with_(seq_len=max(mid, 1)), gpu, margin, calibration=calibration).fits
        lo, hi = (mid, hi) if fits else (lo, mid)
    if lo >= 64:
        how = " with activation offloading" if lean.activation_offloading else ""
        advice.append(f"shorter sequences: QLoRA{how} fits up to about {lo} tokens per sequence (--seq-len {lo})")
    per_param = estimate(shape, lean.with_(seq_len=base.seq_len), calibration=calibration).peak_bytes / shape.total_params
    advice.append(f"a smaller model: about {margin * gpu / per_param / 1e9:.1f}B parameters fit with QLoRA "
                  f"at {base.seq_len} tokens")
    advice.append("more GPUs: split the model across cards (FSDP or DeepSpeed), which tuitune does not do")
    return advice
