"""Which of NVML's GPUs a training process will see, and as which ``cuda:N``.

NVML lists every card in PCI bus order and ignores ``CUDA_VISIBLE_DEVICES``; CUDA honours it,
and numbers what it lets through from 0, in the order it lists them. So GPUs are matched by
UUID, never by index: an entry ``GPU-5b1e…`` (or a unique prefix of one) names a card whatever
the order. A number names the card at that place in CUDA's order, which is NVML's PCI order only
under ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (CUDA's default puts the fastest first); with mixed cards
and numbers the report says that the mapping is a guess, and suggests UUIDs. As CUDA does, the
list ends at the first entry that names no card, and an empty variable hides every GPU.

The worker, which has torch, matches the same way from ``torch.cuda.get_device_properties(i).uuid``
(weights/loading.py, ``cuda_gpu_name``). Light: no torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tuitune.hardware.nvml import Gpu, GpuReport

ENV = "CUDA_VISIBLE_DEVICES"


@dataclass
class Visible:
    gpus: list[Gpu]
    """The cards CUDA will see, in its order: ``gpus[k]`` is ``cuda:k``."""
    hidden: list[Gpu]
    notes: list[str] = field(default_factory=list)

    def cuda_index(self, gpu: Gpu) -> int | None:
        return next((k for k, g in enumerate(self.gpus) if g is gpu), None)


def visible_gpus(report: GpuReport, env: Mapping[str, str] | None = None) -> Visible:
    env = os.environ if env is None else env
    cards = list(report.gpus)
    spec = env.get(ENV)
    if spec is None:
        return Visible(cards, [])
    chosen: list[Gpu] = []
    notes: list[str] = []
    numbers = False
    for raw in spec.split(","):
        entry = raw.strip()
        gpu = _by_uuid(cards, entry) if entry.upper().startswith(("GPU-", "MIG-")) else None
        if gpu is None and entry.isdigit():
            numbers = True
            gpu = cards[int(entry)] if int(entry) < len(cards) else None
        if gpu is None:
            if entry:
                notes.append(f"{ENV}={spec!r}: {entry!r} names no GPU here, so CUDA ignores it and every entry after it")
            break
        if gpu in chosen:
            notes.append(f"{ENV}={spec!r}: {entry!r} names a card listed already; CUDA sees each card once")
            break
        chosen.append(gpu)
    if numbers and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" and len({g.name for g in cards}) > 1:
        notes.append(f"{ENV} gives numbers, which CUDA counts fastest card first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; "
                     "this list assumes PCI order: give UUIDs (`tuitune gpus` lists them) to be sure")
    return Visible(chosen, [g for g in cards if g not in chosen], notes)


def _by_uuid(cards: list[Gpu], entry: str) -> Gpu | None:
    """The card whose UUID is ``entry`` or starts with it, when exactly one does."""
    matches = [g for g in cards if g.uuid and g.uuid.lower().startswith(entry.lower())]
    return matches[0] if len(matches) == 1 else None
