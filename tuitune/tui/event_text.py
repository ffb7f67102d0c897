"""What a person reads about events: one line per notable event for the run view's event log,
the numbers of the latest step, and the loss series thinned for a chart. UI-free."""

from __future__ import annotations

import time
from typing import Any

from tuitune.tui.run_rows import format_duration

Point = tuple[float, float]


def describe(event: dict[str, Any]) -> str | None:
    """One line for an event, or None for events the log does not show (steps)."""
    kind = event.get("type")
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("ts", 0)))
    text = _TEXT.get(kind, _other)(event)
    return None if text is None else f"{stamp}  {text}"


def _status(e: dict[str, Any]) -> str:
    status = e.get("status")
    if status == "loading_model":
        return (f"loading {e.get('model')} on {e.get('device')} ({e.get('precision')}), "
                f"method {e.get('method')}: {e.get('method_reason')}")
    if status == "training":
        return f"training: step {e.get('step', 0)} of {e.get('total_steps')}"
    if status == "resuming":
        return f"resuming from {e.get('checkpoint')} (step {e.get('step')})"
    if status == "exporting":
        return f"exporting GGUF: {', '.join(e.get('quants') or [])}"
    if status == "stopping":
        return "stopping after this step; saving a checkpoint"
    return f"status: {status}"


def _finished(e: dict[str, Any]) -> str:
    stage = "export" if e.get("stage") == "export" else "run"
    extra = f" (export {e['export']})" if "export" in e else ""
    report = f"; report: {e['report']}" if e.get("report") else ""
    return f"{stage} finished: {e.get('status')}{extra}{report}"


def _other(e: dict[str, Any]) -> str:
    return f"{e.get('type')}: " + ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("v", "seq", "ts", "type"))


_TEXT = {
    "started": lambda e: f"worker started (pid {e.get('pid')}, attempt {e.get('attempt')})",
    "data": lambda e: (f"data: {e.get('path')} ({e.get('format')}): {e.get('train_rows')} train / "
                       f"{e.get('val_rows')} validation rows"),
    "status": _status,
    "step": lambda e: None,
    "eval": lambda e: f"step {e.get('step')}: validation loss {e.get('loss', float('nan')):.4f}",
    "checkpoint": lambda e: f"step {e.get('step')}: checkpoint saved",
    "saved": lambda e: f"{e.get('kind')} written to {e.get('path')}" + (
        f" ({e['weights']['text']})" if isinstance(e.get("weights"), dict) else ""),
    "note": lambda e: str(e.get("message")),
    "guidance": lambda e: f"guided defaults: {e.get('summary')}",
    "probe": lambda e: f"probe answers ({e.get('label')}, step {e.get('step')}): " + " | ".join(
        f"{a.get('prompt')!r} → {a.get('answer')!r}" for a in e.get("answers") or []),
    "samples": lambda e: f"base and tuned answers side by side: {e.get('path')}",
    "export": lambda e: (f"export: {e.get('stage')} …" if e.get("state") == "started"
                         else f"export: {e.get('stage')} done ({e.get('seconds', 0):.1f} s)"),
    "warning": lambda e: f"{'coach' if e.get('source') == 'coach' else 'warning'}: {e.get('message')}",
    "error": lambda e: f"ERROR: {e.get('message')}",
    "finished": _finished,
    "oom": lambda e: (f"OUT OF MEMORY at step {e.get('step')} (batch {e.get('batch_size')} x {e.get('grad_accum')}); "
                      "lower: " + "; ".join(e.get("advice", []))),
    "retry": lambda e: (f"retry {e.get('attempt')}/{e.get('of')} after {e.get('reason')}: batch {e.get('batch_size')} "
                        f"x grad_accum {e.get('grad_accum')} (effective {e.get('effective_batch')}), from "
                        f"{e.get('resume_from') or 'the start'}"),
}


def step_numbers(e: dict[str, Any]) -> dict[str, str]:
    """The latest step's numbers as display strings, keyed by label (missing ones are '–')."""
    def fmt(key: str, spec: str) -> str:
        value = e.get(key)
        return "–" if value is None else format(value, spec)

    total = e.get("total_steps")
    return {
        "step": f"{e.get('step', 0)}/{total}" if total else str(e.get("step", 0)),
        "epoch": fmt("epoch", ".2f"),
        "loss": fmt("loss", ".4f"),
        "lr": fmt("lr", ".2e"),
        "tokens/s": fmt("tokens_per_s", ".0f"),
        "ETA": "–" if e.get("eta_s") is None else format_duration(e["eta_s"]),
    }


# Where each chart series comes from: (event type, key) pairs, first found wins. The worker's
# memory readings are bytes (torch's max allocated / reserved in the worker process); DPO's
# reward statistics come from TRL's ``rewards/margins`` and ``rewards/accuracies`` logs.
SERIES_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "lr": (("step", "lr"),),
    "allocated": (("vram", "allocated"), ("step", "vram_allocated"), ("step", "memory_allocated")),
    "reserved": (("vram", "reserved"), ("step", "vram_reserved"), ("step", "memory_reserved")),
    "margin": (("step", "reward_margin"), ("step", "rewards/margins"), ("step", "margin")),
    "reward acc": (("step", "reward_accuracy"), ("step", "rewards/accuracies")),
}
GIB_SERIES = ("allocated", "reserved", "used")


def series_points(events: list[dict[str, Any]], last_step: int = 0) -> dict[str, list[Point]]:
    """Chart points per series from a batch of events. Events without a step (``vram``
    readings between steps) are placed at the latest step seen; memory is in GiB."""
    out: dict[str, list[Point]] = {}
    step = last_step
    for e in events:
        if isinstance(e.get("step"), (int, float)):
            step = e["step"]
        for name, sources in SERIES_KEYS.items():
            for kind, key in sources:
                value = e.get(key) if e.get("type") == kind else None
                if isinstance(value, (int, float)):
                    out.setdefault(name, []).append((step, value / 2**30 if name in GIB_SERIES else float(value)))
                    break
    return out


def dpo_numbers(e: dict[str, Any]) -> dict[str, str]:
    """The DPO reward margin and accuracy of a step, when it has them."""
    found = series_points([e])
    out = {}
    if "margin" in found:
        out["margin"] = f"{found['margin'][-1][1]:.3f}"
    if "reward acc" in found:
        out["reward acc"] = f"{found['reward acc'][-1][1]:.0%}"
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
