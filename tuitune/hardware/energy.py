"""Energy and heat of a run, from NVML samples: power, temperature, clock-throttle reasons and this
process's memory on each GPU it trains on (devices matched by UUID: NVML ignores
``CUDA_VISIBLE_DEVICES``, so indices would name the wrong card).

:func:`read_samples` takes anything shaped like ``pynvml`` (the real library, or a recorded
replay). :class:`EnergyMeter` integrates power over time (trapezoids between samples) into Wh and
keeps the peaks and the time spent throttled by heat or power. Light core: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuitune.hardware.nvml import THROTTLE_REASONS

SLOWING = {"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"}
"""The reasons that mean heat or power is holding the clocks down (not idling or a user setting)."""
THERMAL = {"sw_thermal_slowdown", "hw_thermal_slowdown"}


@dataclass
class Sample:
    t: float
    uuid: str
    power_w: float | None
    temperature_c: int | None
    throttle: list[str]
    process_bytes: int | None

    def to_event(self) -> dict[str, Any]:
        return {"gpu": self.uuid, "power_w": self.power_w, "temperature_c": self.temperature_c,
                "throttle": self.throttle, "process_vram": self.process_bytes}


def devices(nvml: Any, uuids: list[str]) -> list[tuple[Any, str]]:
    """The NVML handles of the GPUs whose UUIDs are given (``GPU-…``; ``MIG-…`` parents too)."""
    wanted = {u.lower() for u in uuids}
    found = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = _text(_try(nvml.nvmlDeviceGetUUID, handle))
        if uuid and uuid.lower() in wanted:
            found.append((handle, uuid))
    return found


def read_samples(nvml: Any, handles: list[tuple[Any, str]], pid: int, now: float) -> list[Sample]:
    out = []
    for handle, uuid in handles:
        milliwatts = _try(nvml.nvmlDeviceGetPowerUsage, handle)
        reasons = _try(nvml.nvmlDeviceGetCurrentClocksThrottleReasons, handle) or 0
        procs = _try(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []
        mine = [p.usedGpuMemory for p in procs if p.pid == pid and p.usedGpuMemory is not None]
        out.append(Sample(
            t=now, uuid=uuid, power_w=None if milliwatts is None else milliwatts / 1000.0,
            temperature_c=_try(nvml.nvmlDeviceGetTemperature, handle, 0),
            throttle=[name for bit, name in THROTTLE_REASONS.items() if reasons & bit],
            process_bytes=sum(mine) if mine else None,
        ))
    return out


@dataclass
class EnergyMeter:
    """Adds samples as they come, per GPU; :meth:`summary` is the run's figures."""

    last: dict[str, Sample] = field(default_factory=dict)
    energy_j: float = 0.0
    seconds: float = 0.0
    throttled_s: float = 0.0
    thermal_s: float = 0.0
    peak_power_w: float | None = None
    peak_temp_c: int | None = None
    count: int = 0

    def add(self, sample: Sample) -> None:
        self.count += 1
        before = self.last.get(sample.uuid)
        if before is not None and sample.t > before.t:
            dt = sample.t - before.t
            if before.power_w is not None and sample.power_w is not None:
                self.energy_j += (before.power_w + sample.power_w) / 2 * dt
                self.seconds += dt
            # The reasons seen at an interval's start hold for it (samples are seconds apart).
            if SLOWING & set(before.throttle):
                self.throttled_s += dt
            if THERMAL & set(before.throttle):
                self.thermal_s += dt
        if sample.power_w is not None:
            self.peak_power_w = max(self.peak_power_w or 0.0, sample.power_w)
        if sample.temperature_c is not None:
            self.peak_temp_c = max(self.peak_temp_c or 0, sample.temperature_c)
        self.last[sample.uuid] = sample

    def summary(self) -> dict[str, Any]:
        gpus = max(1, len(self.last))
        mean = self.energy_j / (self.seconds / gpus) if self.seconds else None  # summed over the GPUs
        return {"energy_wh": round(self.energy_j / 3600, 4), "mean_power_w": None if mean is None else round(mean, 1),
                "peak_power_w": self.peak_power_w, "peak_temp_c": self.peak_temp_c,
                "throttled_s": round(self.throttled_s, 1), "thermal_throttled_s": round(self.thermal_s, 1),
                "samples": self.count, "gpus": sorted(self.last)}


def throttle_warning(sample: Sample) -> str | None:
    """Words for a sample whose clocks heat or power hold down, or None."""
    slowing = SLOWING & set(sample.throttle)
    if not slowing:
        return None
    kind = "thermal" if THERMAL & slowing else "power"
    temp = f" at {sample.temperature_c} °C" if sample.temperature_c is not None else ""
    return f"GPU {sample.uuid} is {kind}-throttled{temp} ({', '.join(sorted(slowing))}): it trains slower than it can"


def describe(summary: dict[str, Any]) -> str:
    mean = summary.get("mean_power_w")
    parts = [f"{summary['energy_wh']:.2f} Wh"]
    if mean is not None:
        parts.append(f"mean {mean:.0f} W, peak {summary.get('peak_power_w') or 0:.0f} W")
    if summary.get("peak_temp_c") is not None:
        parts.append(f"peak {summary['peak_temp_c']} °C")
    parts.append(f"throttled {summary.get('throttled_s', 0):.0f} s")
    return ", ".join(parts)


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a query the card does not support reads as None
        return None


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
