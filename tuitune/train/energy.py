"""The worker's NVML sampler: every few seconds while a CUDA run trains, one ``power`` event per
GPU it trains on (power, temperature, throttle reasons, this process's memory), a ``warning``
the first time heat or power throttles the clocks, and at the end one ``energy`` event with the
run's Wh, mean and peak power, peak temperature and time throttled (tuitune/hardware/energy.py).
Sampling is a daemon thread reading NVML (no CUDA call, no sync with training)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tuitune.events import EventWriter
from tuitune.hardware import energy

INTERVAL_S = 5.0


class Sampler:
    def __init__(self, nvml: Any, uuids: list[str], events: EventWriter, pid: int | None = None,
                 clock: Callable[[], float] = time.time):
        self.nvml, self.events, self.clock = nvml, events, clock
        self.pid = pid or os.getpid()
        self.handles = energy.devices(nvml, uuids)
        self.meter = energy.EnergyMeter()
        self.warned = False

    def sample(self) -> list[energy.Sample]:
        samples = energy.read_samples(self.nvml, self.handles, self.pid, self.clock())
        for s in samples:
            self.meter.add(s)
            self.events.emit("power", **s.to_event())
            warning = energy.throttle_warning(s)
            if warning and not self.warned:
                self.warned = True
                self.events.emit("warning", source="hardware", code="throttling", message=warning)
        return samples

    def finish(self) -> dict[str, Any] | None:
        if not self.meter.count:
            return None
        summary = self.meter.summary()
        self.events.emit("energy", sync=True, **summary, message=energy.describe(summary))
        return summary


def cuda_uuids() -> list[str]:
    """NVML's names (``GPU-…``) of the CUDA devices this process sees."""
    import torch

    out = []
    for i in range(torch.cuda.device_count()):
        uuid = getattr(torch.cuda.get_device_properties(i), "uuid", None)
        if uuid is not None:
            text = str(uuid)
            out.append(text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}")
    return out


@contextmanager
def sampling(device: str, events: EventWriter, interval_s: float = INTERVAL_S) -> Iterator[Sampler | None]:
    """Sample while the block runs, on CUDA with NVML at hand; otherwise do nothing."""
    if device != "cuda":
        yield None
        return
    from tuitune.hardware.nvml import nvml_source

    nvml = nvml_source()
    try:
        if nvml is None:
            import pynvml as nvml  # type: ignore[no-redef]
        nvml.nvmlInit()
        sampler = Sampler(nvml, cuda_uuids(), events)
    except Exception as e:  # noqa: BLE001 - no NVML, no figures: the run trains all the same
        events.emit("warning", source="hardware", code="no_energy", message=f"no power readings for this run: {e}")
        yield None
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                sampler.sample()
            except Exception:  # noqa: BLE001 - a failed read is skipped, the next one may work
                pass
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name="tuitune-nvml", daemon=True)
    thread.start()
    try:
        yield sampler
    finally:
        stop.set()
        thread.join(timeout=interval_s + 1)
        try:
            sampler.sample()
            sampler.finish()
        except Exception:  # noqa: BLE001
            pass
