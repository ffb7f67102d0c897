"""Entry points for the fronts and the worker: plan from a model reference, detect the usable GPU
memory, check a preset before a run starts, and plan at the data's real lengths
(:func:`at_data_length`). Light: no torch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.estimate import Estimate, GiB, estimate
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.nvml import GpuReport, read_gpus
from tuitune.hardware.recommend import Recommendation, recommend
from tuitune.hardware.setup import ATTENTIONS, DTYPE_BYTES, Setup, padding_free_mask_fits
from tuitune.hardware.shapes import ModelShape
from tuitune.models.ref import ModelRef
from tuitune.preset.methods import freeze_layers, lora_dropout
from tuitune.preset.schema import REFERENCE_STAGES

if TYPE_CHECKING:
    from tuitune.hardware.calibration import Calibration

SHORT_TARGETS = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj", "gate": "gate_proj",
                 "up": "up_proj", "down": "down_proj", "qkv": "qkv_proj", "gate_up": "gate_up_proj"}


def parse_targets(text: str | list[str]) -> str | tuple[str, ...]:
    """`all-linear`, or module names; `q,v` is short for `q_proj,v_proj`."""
    if text == "all-linear":
        return "all-linear"
    items = text if isinstance(text, list) else [t.strip() for t in text.split(",") if t.strip()]
    names = tuple(SHORT_TARGETS.get(t, t) for t in items)
    unknown = [n for n in names if n not in SHORT_TARGETS.values()]
    if not names or unknown:
        raise PlannerError(f"lora targets {text!r}: unknown module {', '.join(unknown) or '(none given)'}; "
                           f"use all-linear or names from {', '.join(SHORT_TARGETS)}")
    return names


def detect_gpu(report: GpuReport | None = None) -> tuple[int | None, bool, str]:
    """(usable bytes, bf16 support, how it was found) for the first visible GPU; usable = NVML free memory,
    which already leaves out what other programs hold."""
    from tuitune.hardware.visible import visible_gpus

    report = report or read_gpus()
    if report.cpu_only:
        return None, False, f"no GPU: {report.cpu_only_reason}"
    seen = visible_gpus(report).gpus  # the first card CUDA will train on, matched by UUID
    if not seen:
        return None, False, f"no GPU: CUDA_VISIBLE_DEVICES hides all {len(report.gpus)}"
    gpu = seen[0]
    others = f", {_gib(gpu.memory_used)} used by others" if gpu.memory_used > 0.02 * gpu.memory_total else ""
    return gpu.memory_free, gpu.bf16, f"{gpu.name}: {_gib(gpu.memory_free)} free of {_gib(gpu.memory_total)}{others}"


def recommend_for(model: str | ModelRef | ModelShape, gpu_bytes: int | None = None, *, max_seq_len: int = 1024,
                  batch: int | None = None, **options: Any) -> Recommendation:
    """The worker's `method = "auto"`: the recommendation for a model reference (a ``run:`` one
    resolved by the caller) on this GPU (detected through NVML when ``gpu_bytes`` is None)."""
    shape = model if isinstance(model, ModelShape) else load_shape(model)
    bf16 = True
    if gpu_bytes is None:
        gpu_bytes, bf16, _ = detect_gpu()
    return recommend(shape, gpu_bytes, seq_len=max_seq_len, batch=batch,
                     compute=options.pop("compute", "bf16" if bf16 else "fp16"), **options)


def at_data_length(setup: Setup, tokens: dict[str, Any] | None, *, max_seq_len: int,
                   packing: bool = False) -> tuple[Setup, str | None]:
    """``setup`` (planned at ``max_seq_len``) planned instead at the lengths the data really has,
    and a note saying so; unchanged without token statistics (``tokens``: the data report's
    ``stats.tokens``, with ``max`` and ``p99``). The worst micro-batch decides the peak:

    - packed rows are always filled to ``max_seq_len``: the data changes nothing;
    - a padded micro-batch is padded to its longest row, so the one holding the data's longest
      row (cut at ``max_seq_len``) is the worst: ``batch`` x that length;
    - a padding-free micro-batch holds the sum of its rows: the longest row, with ``batch - 1``
      others at the data's p99 (a second row from the longest 1% in the same micro-batch is the
      rare case the 90% margin is for).

    The p99 alone would plan below the batch that holds the longest rows, which padded runs meet
    first (train.longest_first, length grouping): only :func:`recommend`'s truncation fallback
    plans at it, and then lowers max_seq_len to it.
    """
    if not tokens or not tokens.get("max") or packing:
        return setup, None
    longest = min(int(tokens["max"]), max_seq_len)
    p99 = min(int(tokens.get("p99") or longest), longest)
    if setup.padding_free and setup.batch > 1:
        per_batch = longest + (setup.batch - 1) * p99
        seq_len = math.ceil(per_batch / setup.batch)
        note = (f"planned at {per_batch} tokens per micro-batch (as {setup.batch} x {seq_len}): the data's longest "
                f"row ({longest}) and {setup.batch - 1} more at its p99 length ({p99}), padding-free "
                f"(max_seq_len {max_seq_len})")
    else:
        seq_len = longest
        note = f"planned at {seq_len} tokens, the data's longest row (max_seq_len {max_seq_len})"
    if seq_len >= setup.seq_len:
        return setup, None
    return setup.with_(seq_len=seq_len), note


def setup_from_preset(preset: Any, bf16: bool = True) -> Setup:
    """The :class:`Setup` a preset runs with on a CUDA GPU (its `auto`s resolved as the worker does)."""
    t, lora = preset.train, preset.lora
    precision = t.precision if t.precision != "auto" else ("bf16" if bf16 else "fp16")
    return Setup(
        method=t.method if t.method != "auto" else "lora",
        seq_len=t.max_seq_len, batch=t.batch_size, grad_accum=t.grad_accum or 1,
        lora_r=lora.r or 16, lora_targets=parse_targets(lora.target_modules),
        lora_dropout=lora_dropout(lora.init)[0] if lora.dropout is None else lora.dropout,
        grad_checkpointing=True if t.gradient_checkpointing == "auto" else bool(t.gradient_checkpointing),
        optimizer=t.optimizer, compute=precision,
        attention=t.attn_implementation,
        # `auto` as the worker resolves it (tuitune/train/speed.py); Liger only when installed,
        # which the planner cannot see: plan without it, the safe side.
        padding_free=t.stage in ("sft", "cpt") and (t.packing or t.padding_free is True or (
            t.padding_free == "auto" and t.batch_size > 1
            and padding_free_mask_fits(t.batch_size * t.max_seq_len, DTYPE_BYTES[precision], t.attn_implementation))),
        liger=t.liger is True,
        # `auto` needs the GPU's size: see offloading_estimates.
        activation_offloading=t.activation_offloading is True,
        stage=t.stage, precompute_ref=t.stage in REFERENCE_STAGES and preset.dpo.precompute_ref,
        dora=lora.use_dora, virtual_tokens=lora.virtual_tokens,
        # Named modules only (no layer count): planned as one trained layer, the least they can be.
        trainable_layers=freeze_layers(t) or 1,
    )


def as_engaged(setup: Setup, engaged: dict[str, Any] | None) -> Setup:
    """``setup`` with the speed switches a run really ran with (the ``speed`` event's
    ``engaged``), so that an estimate set against a measured peak models what was measured."""
    if not engaged:
        return setup
    attention = engaged.get("attention")
    return setup.with_(attention=attention if attention in ATTENTIONS else setup.attention,
                       liger=bool(engaged.get("liger")),
                       padding_free=bool(engaged.get("padding_free")),
                       grad_checkpointing=bool(engaged.get("gradient_checkpointing")),
                       activation_offloading=bool(engaged.get("activation_offloading")))


def offloading_estimates(shape: ModelShape, setup: Setup, gpu_bytes: int | None) -> tuple[Estimate, Estimate]:
    """``setup`` without and with activation offloading: `train.activation_offloading = "auto"`
    turns it on only when the first does not fit and the second does."""
    return (estimate(shape, setup.with_(activation_offloading=False), gpu_bytes),
            estimate(shape, setup.with_(activation_offloading=True), gpu_bytes))


def check_preset(preset: Any, gpu_bytes: int, *, shape: ModelShape | None = None, bf16: bool = True,
                 force: bool = False, calibration: Calibration | None = None) -> Estimate:
    """The preset's estimate; a :class:`PlannerError` with the planner's advice when it cannot fit,
    unless ``force``. Pass ``shape`` when the preset's model is a ``run:`` reference, and
    ``calibration`` to correct by the past runs on this card."""
    shape = shape or load_shape(preset.model.path)
    setup = setup_from_preset(preset, bf16)
    est = estimate(shape, setup, gpu_bytes, calibration=calibration)
    if not est.fits and preset.train.activation_offloading == "auto" and setup.stage == "sft":
        offloaded = estimate(shape, setup.with_(activation_offloading=True), gpu_bytes, calibration=calibration)
        est = offloaded if offloaded.fits else est  # what the worker's `auto` will do
    if est.fits or force:
        return est
    rec = recommend(shape, gpu_bytes, seq_len=preset.train.max_seq_len, compute="bf16" if bf16 else "fp16",
                    stage=setup.stage, precompute_ref=setup.precompute_ref, calibration=calibration)
    hint = (f"the planner suggests: {rec.settings()}" if rec.chosen else "; ".join(rec.advice))
    calibrated = f" ({est.correction.reason})" if est.correction is not None else ""
    raise PlannerError(
        f"this preset needs about {_gib(est.peak_bytes)} at its peak ({est.phase}){calibrated} but the GPU has "
        f"{_gib(gpu_bytes)} usable (90% planned); {hint}. Run anyway with --force."
    )


def _gib(b: float) -> str:
    return f"{b / GiB:.1f} GiB"
