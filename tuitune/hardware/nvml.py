"""GPUs through NVML (nvidia-ml-py), without torch.

``read_gpus(nvml)`` takes anything shaped like the ``pynvml`` module: the real one (imported
lazily) or :class:`tuitune.hardware.nvml_replay.RecordedNvml`, which replays a recording.
No driver, no library or no GPU gives a CPU-only report that says why; it never raises.
Each per-device query that a card does not support reads as ``None``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

# NVML clock event ("throttle") reason bits, nvml.h: nvmlClocksEventReason*.
THROTTLE_REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap", 0x8: "hw_slowdown",
    0x10: "sync_boost", 0x20: "sw_thermal_slowdown", 0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}


@dataclass
class GpuProcess:
    pid: int
    name: str | None
    used_bytes: int | None
    """None when the driver does not report it (Windows WDDM, some containers)."""


@dataclass
class Gpu:
    index: int
    name: str
    uuid: str | None
    memory_total: int
    memory_free: int
    memory_used: int
    compute_capability: tuple[int, int] | None
    power_draw_w: float | None = None
    power_limit_w: float | None = None
    temperature_c: int | None = None
    throttle_reasons: list[str] = field(default_factory=list)
    processes: list[GpuProcess] = field(default_factory=list)

    @property
    def bf16(self) -> bool:
        """bf16 tensor cores arrived with Ampere (compute capability 8.0)."""
        return self.compute_capability is not None and self.compute_capability >= (8, 0)


@dataclass
class GpuReport:
    gpus: list[Gpu]
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    cpu_only_reason: str | None = None

    @property
    def cpu_only(self) -> bool:
        return not self.gpus

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for gpu, raw in zip(self.gpus, data["gpus"], strict=True):
            raw["bf16"] = gpu.bf16
            raw["compute_capability"] = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else None
        data["cpu_only"] = self.cpu_only
        return data


def read_gpus(nvml: Any = None) -> GpuReport:
    """Every GPU NVML sees; a CPU-only report with the reason when it sees none."""
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[no-redef]  # the real library replaces the absent replay
        except ImportError:
            return GpuReport([], cpu_only_reason="nvidia-ml-py is not installed (pip install nvidia-ml-py)")
        except Exception as e:  # a broken install must not break `tuitune gpus`
            return GpuReport([], cpu_only_reason=f"nvidia-ml-py failed to import: {e}")
    try:
        nvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, _DriverNotLoaded, _NoPermission, …
        return GpuReport([], cpu_only_reason=f"NVML could not start: {_reason(e)}")
    try:
        driver = _try(nvml.nvmlSystemGetDriverVersion)
        cuda = _try(nvml.nvmlSystemGetCudaDriverVersion)
        count = nvml.nvmlDeviceGetCount()
        gpus = [_read_device(nvml, index) for index in range(count)]
    except Exception as e:
        return GpuReport([], cpu_only_reason=f"NVML failed while reading the GPUs: {_reason(e)}")
    finally:
        _try(nvml.nvmlShutdown)
    report = GpuReport(gpus, _text(driver), _cuda_version(cuda))
    if not gpus:
        report.cpu_only_reason = "the NVIDIA driver is loaded but reports no GPU"
    return report


REPLAY_ENV = "TUITUNE_NVML_REPLAY"


def nvml_source() -> Any:
    """A recorded NVML when ``TUITUNE_NVML_REPLAY`` names a recording (demos and tests: a GPU
    on a machine without one), else None for the real library."""
    replay = os.environ.get(REPLAY_ENV)
    if not replay:
        return None
    from tuitune.hardware.nvml_replay import RecordedNvml, RecordedNvmlSeries

    with open(replay, encoding="utf-8") as f:
        recording = json.load(f)
    return RecordedNvmlSeries(recording) if recording.get("frames") else RecordedNvml(recording)


def gpu_report() -> GpuReport:
    """The GPUs as every front sees them: :func:`read_gpus` of :func:`nvml_source`."""
    return read_gpus(nvml_source())


def _read_device(nvml: Any, index: int) -> Gpu:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    power = _try(nvml.nvmlDeviceGetPowerUsage, handle)  # milliwatts
    limit = _try(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    reasons = _try(nvml.nvmlDeviceGetCurrentClocksThrottleReasons, handle)
    cc = _try(nvml.nvmlDeviceGetCudaComputeCapability, handle)
    return Gpu(
        index=index,
        name=_text(nvml.nvmlDeviceGetName(handle)) or f"GPU {index}",
        uuid=_text(_try(nvml.nvmlDeviceGetUUID, handle)),
        memory_total=int(memory.total),
        memory_free=int(memory.free),
        memory_used=int(memory.used),
        compute_capability=(int(cc[0]), int(cc[1])) if cc else None,
        power_draw_w=None if power is None else power / 1000,
        power_limit_w=None if limit is None else limit / 1000,
        temperature_c=_try(nvml.nvmlDeviceGetTemperature, handle, 0),  # NVML_TEMPERATURE_GPU
        throttle_reasons=[] if reasons is None else [n for bit, n in THROTTLE_REASONS.items() if reasons & bit],
        processes=_processes(nvml, handle),
    )


def _processes(nvml: Any, handle: Any) -> list[GpuProcess]:
    seen: dict[int, GpuProcess] = {}
    for query in (nvml.nvmlDeviceGetComputeRunningProcesses, nvml.nvmlDeviceGetGraphicsRunningProcesses):
        for proc in _try(query, handle) or []:
            used = getattr(proc, "usedGpuMemory", None)
            # NVML_VALUE_NOT_AVAILABLE (2**64 - 1) means the driver does not know.
            used = None if used is None or used >= 2**63 else int(used)
            if proc.pid not in seen:
                seen[proc.pid] = GpuProcess(int(proc.pid), _text(_try(nvml.nvmlSystemGetProcessName, proc.pid)), used)
    return list(seen.values())


def _try(fn: Any, *args: Any) -> Any:
    """The value, or None when NVML says the query is unsupported or fails on this device."""
    try:
        return fn(*args)
    except Exception:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):  # nvidia-ml-py < 11.515 returned bytes
        return value.decode(errors="replace")
    return value


def _cuda_version(value: int | None) -> str | None:
    """NVML encodes CUDA 12.4 as 12040."""
    return None if value is None else f"{value // 1000}.{value % 1000 // 10}"


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    hints = {
        "NVML Shared Library Not Found": "no NVIDIA driver is installed (libnvidia-ml not found)",
        "Driver Not Loaded": "the NVIDIA driver is installed but not loaded",
        "Insufficient Permissions": "no permission to talk to the NVIDIA driver",
    }
    hint = next((h for key, h in hints.items() if key in text), None)
    return f"{text} — {hint}" if hint else text
