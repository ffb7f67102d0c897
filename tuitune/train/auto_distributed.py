"""``[train] distributed = "auto"`` on a machine with CUDA GPUs: the planner's layout
(hardware/recommend_gpus.py) for the cards this process sees, matched to NVML by UUID (NVML
ignores ``CUDA_VISIBLE_DEVICES``; torch honours it)."""

from __future__ import annotations

from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.nvml import gpu_report
from tuitune.hardware.recommend_gpus import recommend_layout
from tuitune.preset import Preset
from tuitune.runs.refs import readable_ref
from tuitune.train.launch_config import Launch


def choose(preset: Preset, gpus: int) -> Launch | None:
    """DDP or FSDP over all ``gpus`` visible cards when the planner says so, else None (one
    process: it fits one card and there is one, or the planner cannot say)."""
    if gpus < 2:
        return None
    free = _free_bytes(gpus)
    bf16 = _bf16()
    try:
        shape = load_shape(readable_ref(preset.model.path))
    except Exception:  # noqa: BLE001 - no shape, no plan: one process, as before
        return None
    layout = recommend_layout(shape, free, seq_len=preset.train.max_seq_len, compute="bf16" if bf16 else "fp16",
                              stage=preset.train.stage)
    if layout.strategy == "none" or not layout.fits:
        return None
    return Launch(layout.strategy, gpus, "cuda", f"train.distributed = 'auto': {layout.explanation}",
                  precision=preset.train.precision)


def _free_bytes(gpus: int) -> list[int]:
    """Each visible card's free bytes: NVML's (what other programs leave), found by UUID; torch's
    own reading where NVML does not know the card."""
    import torch

    by_uuid = {(g.uuid or "").removeprefix("GPU-"): g.memory_free for g in gpu_report().gpus}
    out = []
    for i in range(gpus):
        uuid = str(getattr(torch.cuda.get_device_properties(i), "uuid", "") or "").removeprefix("GPU-")
        out.append(by_uuid.get(uuid) or torch.cuda.mem_get_info(i)[0])
    return out


def _bf16() -> bool:
    import torch

    return bool(torch.cuda.is_bf16_supported())
