"""A run's numbers over its steps, from its events: the series the TUI charts (learning rate,
gradient norm, tokens/s, memory, DPO rewards) and the thinning that keeps a long run's curve drawable. UI-free."""

from __future__ import annotations

from typing import Any

Point = tuple[float, float]

# Where each series comes from: (event type, key) pairs, first found wins. The worker's
# memory readings are bytes (torch's max allocated / reserved in the worker process); DPO's
# reward statistics come from TRL's ``rewards/margins`` and ``rewards/accuracies`` logs.
SERIES_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "lr": (("step", "lr"),),
    "grad norm": (("step", "grad_norm"),),
    "tokens/s": (("step", "tokens_per_s"),),
    "allocated": (("vram", "allocated"), ("step", "vram_allocated"), ("step", "memory_allocated")),
    "reserved": (("vram", "reserved"), ("step", "vram_reserved"), ("step", "memory_reserved")),
    "margin": (("step", "reward_margin"), ("step", "rewards/margins"), ("step", "margin")),
    "reward acc": (("step", "reward_accuracy"), ("step", "rewards/accuracies")),
    # The worker's NVML samples on CUDA (train/energy.py): the card's draw and temperature.
    "power W": (("power", "power_w"),),
    "temp °C": (("power", "temperature_c"),),
}
GIB_SERIES = ("allocated", "reserved", "used")


def value_of(event: dict[str, Any], name: str, as_type: str | None = None) -> float | None:
    """The value of series ``name`` in one event (memory in GiB), or None when it has none;
    ``as_type`` reads the event's keys as if it were of that type (an eval's DPO rewards)."""
    kind_of = as_type or event.get("type")
    for kind, key in SERIES_KEYS[name]:
        value = event.get(key) if kind_of == kind else None
        if isinstance(value, (int, float)):
            return value / 2**30 if name in GIB_SERIES else float(value)
    return None


def series_points(events: list[dict[str, Any]], last_step: int = 0) -> dict[str, list[Point]]:
    """Chart points per series from a batch of events. Events without a step (``vram``
    readings between steps) are placed at the latest step seen; memory is in GiB."""
    out: dict[str, list[Point]] = {}
    step = last_step
    for e in events:
        if isinstance(e.get("step"), (int, float)):
            step = e["step"]
        for name in SERIES_KEYS:
            value = value_of(e, name)
            if value is not None:
                out.setdefault(name, []).append((step, value))
    return out


def downsample(points: list[Point], limit: int) -> list[Point]:
    """At most ``limit`` points: consecutive points averaged in equal buckets, so a long run's
    curve keeps its shape (and the last point stays the last one seen)."""
    if limit <= 0 or len(points) <= limit:
        return list(points)
    out = []
    size = len(points) / limit
    for i in range(limit):
        bucket = points[int(i * size): max(int((i + 1) * size), int(i * size) + 1)]
        out.append((sum(p[0] for p in bucket) / len(bucket), sum(p[1] for p in bucket) / len(bucket)))
    out[-1] = points[-1]
    return out
