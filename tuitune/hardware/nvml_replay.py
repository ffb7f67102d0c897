"""Record what NVML says about this machine, and replay it without a GPU.

``record()`` reads a real card through nvidia-ml-py into plain JSON; :class:`RecordedNvml`
answers the same pynvml calls from that JSON, returning the same shapes (objects with
``total``/``free``/``used``, process objects with ``pid``/``usedGpuMemory``, tuples for the
compute capability) and raising the same ``NVMLError`` subclasses. The tests run on
recordings in that shape (tests/data/nvml/: an RTX 4090, an H100, a T4, no driver);
`tuitune gpus --record FILE` on a GPU machine makes new ones.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

NVML_ERROR_NOT_SUPPORTED = 3


def _error(value: int) -> Exception:
    try:
        from pynvml import NVMLError

        return NVMLError(value)  # pynvml maps the code to its subclass, with NVML's own text
    except ImportError:  # pragma: no cover - nvidia-ml-py is a dependency
        return RuntimeError(f"NVML error {value}")


class RecordedNvml:
    """A stand-in for the ``pynvml`` module, backed by a recording (see :func:`record`)."""

    def __init__(self, recording: dict[str, Any]):
        self.data = recording

    def nvmlInit(self) -> None:
        if self.data.get("init_error") is not None:
            raise _error(self.data["init_error"])

    def nvmlShutdown(self) -> None:
        pass

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.data["driver_version"]

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self.data["cuda_driver_version"]

    def nvmlDeviceGetCount(self) -> int:
        return len(self.data.get("devices", []))

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self.data["devices"][index]

    def _get(self, handle: dict[str, Any], key: str) -> Any:
        value = handle.get(key)
        if value is None:
            raise _error(NVML_ERROR_NOT_SUPPORTED)
        return value

    def nvmlDeviceGetName(self, handle):
        return self._get(handle, "name")

    def nvmlDeviceGetUUID(self, handle):
        return self._get(handle, "uuid")

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(**self._get(handle, "memory"))

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return tuple(self._get(handle, "compute_capability"))

    def nvmlDeviceGetPowerUsage(self, handle):
        return self._get(handle, "power_usage_mw")

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return self._get(handle, "enforced_power_limit_mw")

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return self._get(handle, "temperature_c")

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle):
        return self._get(handle, "clocks_event_reasons")

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [SimpleNamespace(**p) for p in self._get(handle, "compute_processes")]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle):
        return [SimpleNamespace(**p) for p in self._get(handle, "graphics_processes")]

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        names = self.data.get("process_names", {})
        if str(pid) not in names:
            raise _error(NVML_ERROR_NOT_SUPPORTED)
        return names[str(pid)]


def record(nvml: Any = None) -> dict[str, Any]:
    """The raw NVML answers of this machine, as JSON-ready data :class:`RecordedNvml` replays."""
    if nvml is None:
        import pynvml as nvml  # type: ignore[no-redef]  # the real library replaces the absent replay
    try:
        nvml.nvmlInit()
    except Exception as e:
        return {"init_error": getattr(e, "value", None) or 999}
    try:
        out: dict[str, Any] = {
            "driver_version": _opt(nvml.nvmlSystemGetDriverVersion),
            "cuda_driver_version": _opt(nvml.nvmlSystemGetCudaDriverVersion),
            "devices": [], "process_names": {},
        }
        for index in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(index)
            mem = nvml.nvmlDeviceGetMemoryInfo(h)
            procs = {}
            for key, fn in (("compute_processes", nvml.nvmlDeviceGetComputeRunningProcesses),
                            ("graphics_processes", nvml.nvmlDeviceGetGraphicsRunningProcesses)):
                found = _opt(fn, h)
                procs[key] = None if found is None else [
                    {"pid": p.pid, "usedGpuMemory": p.usedGpuMemory,
                     "gpuInstanceId": getattr(p, "gpuInstanceId", None),
                     "computeInstanceId": getattr(p, "computeInstanceId", None)} for p in found]
                for p in found or []:
                    name = _opt(nvml.nvmlSystemGetProcessName, p.pid)
                    if name is not None:
                        out["process_names"][str(p.pid)] = name
            cc = _opt(nvml.nvmlDeviceGetCudaComputeCapability, h)
            out["devices"].append({
                "name": nvml.nvmlDeviceGetName(h), "uuid": _opt(nvml.nvmlDeviceGetUUID, h),
                "memory": {"total": mem.total, "free": mem.free, "used": mem.used},
                "compute_capability": list(cc) if cc else None,
                "power_usage_mw": _opt(nvml.nvmlDeviceGetPowerUsage, h),
                "enforced_power_limit_mw": _opt(nvml.nvmlDeviceGetEnforcedPowerLimit, h),
                "temperature_c": _opt(nvml.nvmlDeviceGetTemperature, h, 0),
                "clocks_event_reasons": _opt(nvml.nvmlDeviceGetCurrentClocksThrottleReasons, h),
                **procs,
            })
        return out
    finally:
        _opt(nvml.nvmlShutdown)


def _opt(fn: Any, *args: Any) -> Any:
    try:
        value = fn(*args)
    except Exception:
        return None
    return value.decode() if isinstance(value, bytes) else value


class RecordedNvmlSeries(RecordedNvml):
    """A recording that changes over time: ``frames`` is a list of ``{"t": SECONDS, "devices":
    [{KEY: VALUE, ...}, ...]}``, each laid over the recorded devices from its time on (power,
    temperature, throttle reasons, processes: whatever a frame names). The replay's time is
    ``clock()`` less its value at the first query; handles stay live, as NVML's do."""

    def __init__(self, recording: dict[str, Any], clock: Any = None):
        import copy
        import time

        super().__init__(copy.deepcopy(recording))
        self._base = copy.deepcopy(recording.get("devices", []))
        self._frames = sorted(recording.get("frames", []), key=lambda f: f["t"])
        self._clock = clock or time.monotonic
        self._t0: float | None = None

    def at(self, t: float) -> None:
        """Show the readings of time ``t`` (seconds from the recording's start)."""
        import copy

        for index, device in enumerate(self.data.get("devices", [])):
            fresh = copy.deepcopy(self._base[index])
            for frame in self._frames:
                if frame["t"] > t:
                    break
                changes = frame.get("devices", [])
                if index < len(changes):
                    fresh.update(changes[index])
            device.clear()
            device.update(fresh)

    def _tick(self) -> None:
        now = self._clock()
        if self._t0 is None:
            self._t0 = now
        self.at(now - self._t0)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        self._tick()
        return self.data["devices"][index]

    def _get(self, handle: dict[str, Any], key: str) -> Any:
        self._tick()
        return super()._get(handle, key)
