"""Peak GPU memory of one training setup, as a breakdown.

The step is split into phases: end of forward, loss backward, layer backward and optimizer
step. Each phase sums what is alive at that moment; the peak is the largest, and its terms are
the breakdown (they add up to the peak). Formulas and sources: docs/planner.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuitune.hardware import method_terms
from tuitune.hardware.activations import activation_bytes, lora_modules, loss_bytes
from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import ModelShape
from tuitune.hardware.stages import has_reference, loss_kind, sequences_per_row

if TYPE_CHECKING:
    from tuitune.hardware.calibration import Calibration, Correction

GiB = 2**30
# CUDA context + cuBLAS/cuDNN workspaces: outside torch's allocator, inside NVML's "used".
CUDA_CONTEXT_BYTES = int(0.5 * GiB)
# Caching-allocator slack: reserved exceeds the allocated peak by block rounding and fragmentation.
ALLOCATOR_SLACK = 0.05
# NF4 with double quantization: 4-bit codes, an 8-bit absmax per 64 weights, an fp32 absmax per
# 256 of those blocks (QLoRA paper, section 3; bitsandbytes blocksize 64).
NF4_BYTES_DOUBLE = 0.5 + 1 / 64 + 4 / (64 * 256)
NF4_BYTES_SINGLE = 0.5 + 4 / 64
# bitsandbytes 8-bit optimizers: two uint8 states, an fp32 absmax per 256-value block each.
ADAM8_BYTES = 2 + 2 * 4 / 256


@dataclass
class Estimate:
    setup: Setup
    total_params: int
    trainable_params: int
    phase: str
    breakdown: dict[str, int]
    """Bytes per term at the peak phase; sums to ``peak_bytes``."""
    phases: dict[str, int]
    gpu_bytes: int | None = None
    margin: float = 0.9
    notes: list[str] = field(default_factory=list)
    correction: Correction | None = None
    """Past runs on this card (hardware/calibration.py); when applied, the breakdown's
    ``calibration`` term is the change it made."""
    host_bytes: int = 0
    """Pinned CPU RAM the offloaded activations take (``Setup.activation_offloading``); not in the peak."""
    terms: dict[str, dict[str, int]] = field(default_factory=dict)
    """Every phase's terms (bytes), before slack and context: what the per-GPU estimates of
    several-GPU runs reshape (hardware/multi_gpu.py)."""

    @property
    def peak_bytes(self) -> int:
        return sum(self.breakdown.values())

    @property
    def fits(self) -> bool | None:
        if self.gpu_bytes is None:
            return None
        return self.peak_bytes <= self.margin * self.gpu_bytes

    @property
    def torch_reserved_bytes(self) -> int:
        """What ``torch.cuda.max_memory_reserved`` should read: the peak without the CUDA context."""
        return self.peak_bytes - self.breakdown.get("cuda_context", 0)

    @property
    def uncorrected_reserved_bytes(self) -> int:
        """The formulas' torch-reserved bytes, before any calibration (what calibration compares with)."""
        return self.torch_reserved_bytes - self.breakdown.get("calibration", 0)

    def to_dict(self) -> dict:
        """The JSON contract of `tuitune plan --method M --json` (sizes in GiB, as nvidia-smi's MiB)."""
        return {
            "method": self.setup.method,
            "peak_gb": gb(self.peak_bytes),
            "fits": self.fits,
            "gpu_gb": None if self.gpu_bytes is None else gb(self.gpu_bytes),
            "breakdown": {k: gb(v) for k, v in self.breakdown.items()},
            "peak_phase": self.phase,
            "settings": self.setup.settings(),
            "parameters": self.total_params,
            "trainable_parameters": self.trainable_params,
            "host_ram_gb": gb(self.host_bytes),
            "notes": self.notes,
            "calibration": None if self.correction is None else {
                **self.correction.to_dict(), "uncorrected_peak_gb": gb(self.peak_bytes - self.breakdown.get("calibration", 0))},
        }


def gb(n: float) -> float:
    return round(n / GiB, 2)


def trainable_params(shape: ModelShape, setup: Setup) -> int:
    if setup.method == "full":
        return shape.total_params
    other = method_terms.trainable(shape, setup, lora_modules(shape, setup))
    if other is not None:
        return other
    r = setup.lora_r
    return shape.num_layers * sum(r * (lin.d_in + lin.d_out) for lin in lora_modules(shape, setup))


def weight_bytes(shape: ModelShape, setup: Setup) -> float:
    """Base weights: everything in one dtype, or NF4 projections plus 16-bit embeddings, norms, head."""
    total = shape.total_params
    if setup.method != "qlora":
        return total * setup.weight_bytes
    nf4 = NF4_BYTES_DOUBLE if setup.double_quant else NF4_BYTES_SINGLE
    linear = shape.linear_params
    return linear * nf4 + (total - linear) * setup.c


def optimizer_bytes(shape: ModelShape, setup: Setup, trainable: int) -> tuple[float, float]:
    """(state, step temporaries). torch's AdamW keeps two states in the parameter dtype and, in its
    default foreach path, one more parameter-sized temporary during the step."""
    p = setup.trainable_bytes
    opt = setup.optimizer
    if opt == "adamw":
        return 2 * p * trainable, p * trainable
    if opt in ("adamw_8bit", "paged_adamw_8bit"):
        return ADAM8_BYTES * trainable, 0.0
    if opt == "paged_adamw_32bit":
        return 8 * trainable, 0.0
    # Adafactor (HF, beta1=None): a factored second moment, rows + columns per matrix.
    matrices = _matrices(shape, setup)
    state = 4 * sum(a + b for a, b in matrices)
    largest = max(a * b for a, b in matrices)
    return state, 3 * 4 * largest


def _matrices(shape: ModelShape, setup: Setup) -> list[tuple[int, int]]:
    if setup.method in ("full", "freeze"):
        layers = method_terms.trained_layers(shape, setup)
        mats = [(lin.d_in, lin.d_out) for lin in shape.linears()] * layers
        if setup.method == "freeze":
            return mats
        mats.append((shape.vocab_size, shape.hidden_size))
        return mats
    if setup.method not in ("lora", "qlora"):  # vectors and embeddings: Adafactor keeps them whole
        return [(1, method_terms.trainable(shape, setup, []) or 1)]
    r = setup.lora_r
    mods = lora_modules(shape, setup) * shape.num_layers
    return [(r, lin.d_in) for lin in mods] + [(lin.d_out, r) for lin in mods]


def estimate(shape: ModelShape, setup: Setup, gpu_bytes: int | None = None, margin: float = 0.9, *,
             calibration: Calibration | None = None) -> Estimate:
    """Peak memory of ``setup`` on ``shape``, phase by phase; see the module docstring. With
    ``calibration`` (past runs on this card), the torch-reserved part is scaled as they measured."""
    full = setup.method == "full"
    whole = full or setup.method == "freeze"  # a whole model in fp32; no adapter
    trainable = trainable_params(shape, setup)
    weights = weight_bytes(shape, setup)
    adapter = 0 if whole else trainable * setup.adapter_bytes
    grads = trainable * setup.trainable_bytes
    state, step_temp = optimizer_bytes(shape, setup, trainable)
    # DPO, ORPO and SimPO run chosen and rejected through the model as one batch of twice the rows.
    sequences = setup.with_(batch=sequences_per_row(setup.stage) * setup.batch, loss=loss_kind(setup.stage, setup.loss))
    act = activation_bytes(shape, sequences)
    loss = loss_bytes(shape, sequences, lm_head_trains=full)
    grads_between = grads if setup.grad_accum > 1 else 0  # Trainer zeroes with set_to_none
    # Autocast caches a compute-dtype copy of each fp32 weight it casts, until the forward ends.
    autocast_copies = 0.0
    if setup.uses_autocast and setup.trainable_bytes != setup.c:
        autocast_copies = setup.c * (shape.linear_params if full else trainable)  # only trained weights are cached
    dequant = 0.0
    if setup.method == "qlora":  # bitsandbytes dequantizes one projection at a time
        dequant = setup.c * max(lin.d_in * lin.d_out for lin in shape.linears())

    dora = method_terms.dora_norm_buffers(shape, setup, lora_modules(shape, setup))
    base = {"weights": weights, "adapter": adapter, "optimizer_state": state}
    reference = has_reference(setup.stage, setup.precompute_ref)  # DPO, KTO; ORPO and SimPO have none
    if reference and whole:
        # A frozen copy of the starting model, in the compute dtype (LoRA's reference is the same
        # weights with the adapter off: nothing extra).
        base["reference_weights"] = shape.total_params * setup.c
    phases = {
        "forward": {**base, "gradients": grads_between, "autocast_copies": autocast_copies,
                    "activations": act["saved"], "loss_buffers": loss["forward"], "dequant_buffers": dequant,
                    "dora_buffers": dora},
        "loss_backward": {**base, "gradients": grads_between, "activations": act["saved"],
                          "loss_buffers": loss["backward"], "dequant_buffers": dequant},
        "layer_backward": {**base, "gradients": grads, "activations": act["backward"],
                           "dequant_buffers": dequant, "dora_buffers": dora if setup.grad_checkpointing else 0},
        "optimizer_step": {**base, "gradients": grads, "optimizer_temp": step_temp},
    }
    if reference:
        # The no-grad reference pass runs after the policy's forward, whose activations are still
        # kept: it adds one layer's working set at a time and the log-prob tile.
        # Still inside the policy's autocast region, so its cached weight casts are alive too.
        phases["reference_forward"] = {**base, "gradients": grads_between, "autocast_copies": autocast_copies,
                                       "activations": act["saved"],
                                       "reference_forward": act["per_layer"] + loss["forward"],
                                       "dequant_buffers": dequant}
    totals = {name: sum(terms.values()) for name, terms in phases.items()}
    phase = max(totals, key=lambda name: totals[name])
    breakdown = {k: int(math.ceil(v)) for k, v in phases[phase].items() if v}
    if setup.device == "cuda":
        breakdown["allocator_slack"] = int(ALLOCATOR_SLACK * totals[phase])
        breakdown["cuda_context"] = CUDA_CONTEXT_BYTES
    result = Estimate(setup, shape.total_params, trainable, phase, breakdown,
                      {k: int(v) for k, v in totals.items()}, gpu_bytes, margin)
    result.terms = {name: {k: int(math.ceil(v)) for k, v in terms.items() if v} for name, terms in phases.items()}
    result.host_bytes = int(math.ceil(act["host"]))
    result.notes = _notes(setup, state, result.host_bytes)
    correction = calibration.for_method(setup.method) if calibration and setup.device == "cuda" else None
    if correction is not None:
        result.correction = correction
        if correction.applied:
            breakdown["calibration"] = correction.scale(result.torch_reserved_bytes)
        result.notes.append(correction.reason)
    return result


def _notes(setup: Setup, state: float, host: int = 0) -> list[str]:
    notes = []
    if setup.activation_offloading:
        notes.append(
            f"activation offloading: the saved activations take {host / GiB:.1f} GiB of pinned CPU RAM, not in the "
            "peak; the GPU keeps the few tensors in flight" if setup.device == "cuda" else
            "activation offloading on the CPU: the saved activations stay where they are, in CPU memory")
    if setup.optimizer.startswith("paged_"):
        notes.append(
            f"paged optimizer: its {state / GiB:.2f} GiB of state lives in CUDA unified memory and can spill "
            "to CPU RAM when the GPU runs short (slower, but no out-of-memory); counted on the GPU here"
        )
    if setup.method == "qlora":
        notes.append("QLoRA: projections in NF4 (double quant), embeddings, norms and lm_head stay 16-bit; "
                     "adapters in bf16 as TRL casts them")
    if setup.method == "lora" and setup.adapter_bytes == 4:
        notes.append("LoRA: adapters in fp32 (PEFT upcasts them), base weights 16-bit and frozen")
    if setup.dora:
        notes.append("DoRA: a magnitude vector per adapted projection; each keeps its base and LoRA outputs "
                     "for the magnitude's gradient, and the column norm builds the full weight once per projection")
    if setup.method == "freeze":
        notes.append(f"freeze: fp32 weights as full; gradients, AdamW states and activations for the last "
                     f"{setup.trainable_layers} layers only")
    if setup.method in ("ia3", "prompt_tuning", "prefix_tuning"):
        notes.append(f"{setup.method.replace('_', ' ')}: base weights 16-bit and frozen; a few thousand trained "
                     "values, but the activations of every layer are kept for the backward")
    if setup.method == "full" and setup.weight_bytes == 4:
        notes.append("full: fp32 master weights, gradients and AdamW states with bf16 autocast, as tuitune loads them")
    return notes
