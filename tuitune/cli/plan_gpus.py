"""The several-GPU parts of `tuitune gpus` and `tuitune plan`: which cards CUDA will see
(matched by UUID, hardware/visible.py) and the layout for them (hardware/recommend_gpus.py).
Light: no torch."""

from __future__ import annotations

from typing import Any

from tuitune.hardware.nvml import GpuReport
from tuitune.hardware.visible import Visible, visible_gpus

GiB = 2**30


def visibility_line(visible: Visible, gpu: Any) -> str:
    index = visible.cuda_index(gpu)
    return f"visible as cuda:{index}" if index is not None else "hidden by CUDA_VISIBLE_DEVICES"


def gpus_json(report: GpuReport) -> dict[str, Any]:
    """`tuitune gpus --json`: NVML's report, each card with its ``cuda_index`` (None: hidden)."""
    visible = visible_gpus(report)
    data = report.to_dict()
    for gpu, raw in zip(report.gpus, data["gpus"], strict=True):
        raw["cuda_index"] = visible.cuda_index(gpu)
    data["visible"] = [g.uuid for g in visible.gpus]
    data["visibility_notes"] = visible.notes
    return data


def layout(report: GpuReport, shape: Any, *, seq_len: int, target_batch: int, compute: str, stage: str) -> Any:
    """The layout for the visible cards, or None with fewer than two."""
    from tuitune.hardware.recommend_gpus import recommend_layout

    cards = visible_gpus(report).gpus
    if len(cards) < 2:
        return None
    return recommend_layout(shape, [g.memory_free for g in cards], seq_len=seq_len, target_batch=target_batch,
                            compute=compute, stage=stage)


def print_layout(result: Any) -> None:
    print(f"\nseveral GPUs: {result.strategy} on {result.gpus} — {result.explanation}")
    if result.per_gpu is not None:
        for term, value in result.per_gpu.breakdown.items():
            print(f"  {term.replace('_', ' '):18} {value / GiB:>7.1f} GiB per GPU")
    overrides = result.preset_overrides()
    if overrides:
        print("  run it: tuitune run PRESET " + " ".join(f"-s {o}" for o in overrides))
    for line in result.advice:
        print(f"  try {line}")
