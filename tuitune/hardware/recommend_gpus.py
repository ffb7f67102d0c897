"""How many GPUs, and which strategy: what `tuitune plan` says on a machine with several cards
and what ``[train] distributed = "auto"`` runs (docs/distributed.md).

1. The one-GPU recommendation (hardware/recommend.py) on the smallest visible card. When it
   fits and there is one card: one process. When there are more: DDP on all of them (each
   trains its own micro-batches: about N times the examples per second), as long as DDP's
   gradient buckets still fit; gradient accumulation is divided so the effective batch stays
   the target.
2. Otherwise the model fits only sharded: FSDP, trying full, then LoRA, then QLoRA (the
   planner's usual order), each with gradient checkpointing and the largest micro-batch that
   fits, on all visible cards; ``min_gpus`` says how few would do.
3. Nothing fits: the per-GPU need of the smallest layout, and what would change it.

Light: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tuitune.hardware.estimate import GiB
from tuitune.hardware.multi_gpu import NAMES, PerGpu, per_gpu
from tuitune.hardware.recommend import Recommendation, recommend
from tuitune.hardware.setup import METHODS, Setup
from tuitune.hardware.shapes import ModelShape

BATCHES = (8, 4, 2, 1)


@dataclass
class GpuLayout:
    strategy: str  # none | ddp | fsdp
    gpus: int
    per_gpu: PerGpu | None
    single: Recommendation
    explanation: str
    min_gpus: int | None = None
    advice: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.strategy == "none" and self.single.chosen is not None or bool(self.per_gpu and self.per_gpu.fits)

    @property
    def setup(self) -> Setup | None:
        if self.per_gpu is not None:
            return self.per_gpu.one.setup
        return self.single.chosen.setup if self.single.chosen else None

    def preset_overrides(self) -> list[str]:
        """The layout as `-s KEY=VALUE` overrides: the distribution and the per-GPU settings."""
        if not self.fits or self.setup is None:
            return []
        from tuitune.hardware.recommend import setup_settings

        keys = {"method": "train.method", "batch_size": "train.batch_size", "grad_accum": "train.grad_accum",
                "max_seq_len": "train.max_seq_len", "gradient_checkpointing": "train.gradient_checkpointing",
                "optimizer": "train.optimizer", "lora_r": "lora.r", "lora_targets": "lora.target_modules"}
        import json

        out = [f"{keys[k]}={json.dumps(v)}" for k, v in setup_settings(self.setup).items() if k in keys]
        strategy = {"none": "none", "ddp": "ddp", "fsdp": "fsdp", "zero3": "deepspeed"}[self.strategy]
        return [f"train.distributed={strategy}", f"train.num_processes={self.gpus}", *out]

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "gpus": self.gpus, "min_gpus": self.min_gpus, "fits": self.fits,
                "explanation": self.explanation, "advice": self.advice,
                "per_gpu": None if self.per_gpu is None else self.per_gpu.to_dict(),
                "overrides": self.preset_overrides()}


def recommend_layout(shape: ModelShape, gpu_bytes: list[int], *, seq_len: int = 1024, target_batch: int = 16,
                     compute: str = "bf16", stage: str = "sft", **options: Any) -> GpuLayout:
    """The layout for the visible GPUs (``gpu_bytes``: each card's usable bytes, NVML free)."""
    if not gpu_bytes:
        raise ValueError("recommend_layout needs at least one GPU")
    n, smallest = len(gpu_bytes), min(gpu_bytes)
    single = recommend(shape, smallest, seq_len=seq_len, target_batch=target_batch, compute=compute, stage=stage,
                       **options)
    if single.chosen is not None:
        if n == 1:
            return GpuLayout("none", 1, None, single, f"one GPU is enough: {single.explanation}", min_gpus=1)
        s = single.chosen.setup
        if s.batch * n > target_batch:  # n micro-batches already pass the target: smaller ones
            s = s.with_(batch=max(1, target_batch // n))
        s = s.with_(grad_accum=max(1, math.ceil(target_batch / (s.batch * n))))
        ddp = per_gpu(shape, s, "ddp", n, smallest)
        if ddp.fits:
            return GpuLayout("ddp", n, ddp, single, min_gpus=1, explanation=(
                f"{NAMES[s.method] if s.method in NAMES else s.method} fits on one GPU "
                f"({_gib(single.chosen.peak_bytes)}): DDP on all {n} trains {n} micro-batches at once, "
                f"{_gib(ddp.peak_bytes)} per GPU with its gradient buckets; grad_accum {s.grad_accum} keeps the "
                f"effective batch at {s.batch * s.grad_accum * n}"))
        return GpuLayout("none", 1, None, single, min_gpus=1, explanation=(
            f"fits on one GPU, but not with DDP's gradient buckets ({_gib(ddp.peak_bytes)} per GPU): one process"))
    if n == 1:
        return GpuLayout("none", 1, None, single, single.explanation, advice=[
            *single.advice, "or add GPUs: sharded with FSDP, each holds 1/N of the weights and optimizer state"])
    for method in options.get("methods", METHODS):
        for batch in BATCHES:
            setup = Setup(method=method, seq_len=seq_len, batch=batch, compute=compute, stage=stage,
                          grad_accum=max(1, math.ceil(target_batch / (batch * n))), grad_checkpointing=True)
            fsdp = per_gpu(shape, setup, "fsdp", n, smallest)
            if fsdp.fits:
                fewest = next(k for k in range(2, n + 1) if per_gpu(shape, setup.with_(batch=1), "fsdp", k, smallest).fits)
                return GpuLayout("fsdp", n, fsdp, single, min_gpus=fewest, explanation=(
                    f"does not fit on one GPU; {NAMES.get(method, method)} with FSDP over {n} GPUs needs "
                    f"{_gib(fsdp.peak_bytes)} per GPU (micro-batch {batch}; at least {fewest} GPUs would do)"))
    fsdp = per_gpu(shape, Setup(method="qlora", seq_len=seq_len, compute=compute, stage=stage), "fsdp", n, smallest)
    return GpuLayout("fsdp", n, fsdp, single, explanation=(
        f"does not fit even sharded: QLoRA with FSDP over {n} GPUs needs {_gib(fsdp.peak_bytes)} per GPU, "
        f"{_gib(0.9 * smallest)} usable"), advice=[
            "more or larger GPUs", "a shorter max_seq_len",
            "FSDP with the parameters offloaded to CPU RAM (how FSDP-QLoRA fits 70B on two 24 GB cards): "
            "accelerate's fsdp_offload_params, which tuitune does not plan or set yet"])


def _gib(b: float) -> str:
    return f"{b / GiB:.1f} GiB"
