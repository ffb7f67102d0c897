"""Device-wide GPU memory in use, from NVML, for the run view's VRAM chart ("used" beside the
worker's own allocated/reserved). UI-free; the run view calls it from its polling thread."""

from __future__ import annotations


class GpuMemory:
    """Reads the memory used on the GPU a worker runs on; gives up for good when there is no
    GPU (NVML missing or no device), so a CPU run costs one look."""

    def __init__(self) -> None:
        self.available = True

    def used_bytes(self, pid: int | None) -> int | None:
        """Used bytes on the GPU running ``pid`` (the first GPU when NVML lists no process)."""
        if not self.available:
            return None
        try:
            from tuitune.hardware.nvml import read_gpus

            report = read_gpus()
        except Exception:  # noqa: BLE001 - a chart must never take the view down
            self.available = False
            return None
        if not report.gpus:
            self.available = False
            return None
        for gpu in report.gpus:
            if pid is not None and any(p.pid == pid for p in gpu.processes):
                return gpu.memory_used
        return report.gpus[0].memory_used
