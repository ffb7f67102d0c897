"""Per-GPU memory of one run spread over N GPUs, and which layout to use (docs/distributed.md).

Each strategy reshapes the one-GPU estimate's terms, phase by phase (hardware/estimate.py):

- **DDP**: a full replica on every GPU, the same micro-batch each; plus DDP's gradient buckets,
  a flat copy of the trainable gradients it all-reduces from (allocated when the model is
  wrapped, so alive in every phase).
- **FSDP** (full sharding, one unit per decoder layer): weights, adapter, gradients, optimizer
  state and its step temporaries are split 1/N. While the model runs (forward and backward
  phases) each GPU also holds the *unsharded* weights of two layers (the one computing and the
  one prefetched: the all-gather buffers) and the root unit (embeddings, final norm, LM head),
  which FSDP keeps gathered from the forward to the end of the backward; in the backward, two
  layers' unsharded gradients wait for their reduce-scatter. Activations do not shrink: each GPU
  still runs its own micro-batch.
- **ZeRO-3** (DeepSpeed): the same 1/N split; one layer gathered at a time, plus the prefetch
  bucket (0.9 x hidden² parameters, the Trainer's `auto`) while the model runs and the reduce
  bucket (hidden² gradients, `auto`) in the backward; the embeddings/LM head gathered only in the
  loss phases.

Communication library workspaces (NCCL: tens of MiB) are left out, inside the 10% margin.
Light: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tuitune.hardware.estimate import ALLOCATOR_SLACK, CUDA_CONTEXT_BYTES, NF4_BYTES_DOUBLE, Estimate, GiB, estimate
from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import ModelShape

STRATEGIES = ("ddp", "fsdp", "zero3")
NAMES = {"none": "one GPU", "ddp": "DDP", "fsdp": "FSDP", "zero3": "DeepSpeed ZeRO-3"}
SHARDED_TERMS = ("weights", "adapter", "gradients", "optimizer_state", "optimizer_temp", "reference_weights")
RUNNING_PHASES = ("forward", "loss_backward", "layer_backward", "reference_forward")
BACKWARD_PHASES = ("loss_backward", "layer_backward")
LOSS_PHASES = ("forward", "loss_backward", "reference_forward")


@dataclass
class PerGpu:
    """One GPU's share of a run over ``gpus`` GPUs with ``strategy``."""

    strategy: str
    gpus: int
    one: Estimate
    phase: str
    breakdown: dict[str, int]
    phases: dict[str, int]
    gpu_bytes: int | None = None
    margin: float = 0.9
    notes: list[str] = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        return sum(self.breakdown.values())

    @property
    def fits(self) -> bool | None:
        return None if self.gpu_bytes is None else self.peak_bytes <= self.margin * self.gpu_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "gpus": self.gpus, "peak_gb_per_gpu": _gb(self.peak_bytes),
                "fits": self.fits, "gpu_gb": None if self.gpu_bytes is None else _gb(self.gpu_bytes),
                "peak_phase": self.phase, "breakdown": {k: _gb(v) for k, v in self.breakdown.items()},
                "settings": self.one.setup.settings(), "notes": self.notes}


def layer_bytes(shape: ModelShape, setup: Setup) -> tuple[float, float]:
    """(one decoder layer's weights as stored, the rest's: embeddings, final norm, LM head)."""
    per_layer = _layer_params(shape)
    rest = shape.total_params - shape.num_layers * per_layer
    if setup.method == "qlora":  # NF4 projections, 16-bit norms; the rest stays 16-bit
        linear = sum(lin.d_in * lin.d_out for lin in shape.linears())
        return linear * NF4_BYTES_DOUBLE + (per_layer - linear) * setup.c, rest * setup.c
    return per_layer * setup.weight_bytes, rest * setup.weight_bytes


def per_gpu(shape: ModelShape, setup: Setup, strategy: str, gpus: int, gpu_bytes: int | None = None,
            margin: float = 0.9, one: Estimate | None = None) -> PerGpu:
    """The peak of one GPU of ``gpus`` under ``strategy`` (ddp, fsdp or zero3); ``setup.batch`` is
    the micro-batch of each GPU."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    one = one or estimate(shape, setup)
    trainable_grads = one.trainable_params * setup.trainable_bytes
    layer, rest = layer_bytes(shape, setup)
    trained_per_layer = _layer_params(shape) if setup.method == "full" else one.trainable_params / shape.num_layers
    layer_grads = trained_per_layer * setup.trainable_bytes
    h2 = shape.hidden_size ** 2
    phases: dict[str, dict[str, float]] = {}
    for name, terms in one.terms.items():
        t: dict[str, float] = dict(terms)
        if strategy == "ddp":
            t["ddp_buckets"] = trainable_grads
        else:
            for key in SHARDED_TERMS:
                if key in t:
                    t[key] = t[key] / gpus
            running = name in RUNNING_PHASES
            if strategy == "fsdp" and running:
                t["gathered_layers"] = 2 * layer
                t["gathered_root"] = rest
                if name in BACKWARD_PHASES:
                    t["unsharded_grads"] = 2 * layer_grads
            if strategy == "zero3" and running:
                t["gathered_layers"] = layer + 0.9 * h2 * setup.weight_bytes
                if name in LOSS_PHASES:
                    t["gathered_root"] = rest
                if name in BACKWARD_PHASES:
                    t["reduce_bucket"] = h2 * setup.trainable_bytes
        phases[name] = t
    totals = {name: sum(t.values()) for name, t in phases.items()}
    phase = max(totals, key=lambda n: totals[n])
    breakdown = {k: int(math.ceil(v)) for k, v in phases[phase].items() if v}
    if setup.device == "cuda":
        breakdown["allocator_slack"] = int(ALLOCATOR_SLACK * totals[phase])
        breakdown["cuda_context"] = CUDA_CONTEXT_BYTES
    notes = []
    if strategy != "ddp" and setup.method == "qlora":
        notes.append("FSDP with QLoRA: the 4-bit weights are stored in the compute dtype (bnb_4bit_quant_storage), "
                     "so FSDP can shard them like any other weight")
    return PerGpu(strategy, gpus, one, phase, breakdown, {k: int(v) for k, v in totals.items()}, gpu_bytes, margin, notes)


def _layer_params(shape: ModelShape) -> float:
    comp = shape.components()
    return (shape.total_params - comp["embeddings"] - comp["lm_head"] - shape.hidden_size) / shape.num_layers


def _gb(n: float) -> float:
    return round(n / GiB, 2)
