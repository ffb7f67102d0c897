"""The home screen's hardware summary: the CPU and memory, and the GPUs that
``tuitune.hardware.nvml`` reports when it is installed (it says why there is none otherwise).
UI-free; slow only when NVML is slow, so the screen calls it from a thread."""

from __future__ import annotations

import os
import platform


def cpu_lines() -> list[str]:
    cores = os.cpu_count() or 1
    name = _cpu_name() or platform.processor() or platform.machine()
    lines = [f"CPU   {name}, {cores} core{'s' if cores != 1 else ''}"]
    total = _memory_bytes()
    if total:
        lines.append(f"RAM   {total / 2**30:.1f} GiB")
    return lines


def gpu_lines() -> list[str]:
    """One line per GPU, or one line saying why training will run on the CPU."""
    try:
        from tuitune.hardware.nvml import gpu_report
    except ImportError:
        return ["GPU   detection comes from tuitune.hardware (not in this installation); CPU only"]
    try:
        report = gpu_report()  # NVML, or the recording TUITUNE_NVML_REPLAY names
    except Exception as e:  # noqa: BLE001 - the summary must never take the app down
        return [f"GPU   detection failed ({type(e).__name__}: {e}); CPU only"]
    if not report.gpus:
        return [f"GPU   none: {report.cpu_only_reason or 'no GPU found'}; training runs on the CPU"]
    from tuitune.hardware.visible import visible_gpus

    visible = visible_gpus(report)  # by UUID: NVML lists the cards CUDA_VISIBLE_DEVICES hides too
    lines = []
    for gpu in report.gpus:
        cc = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else "?"
        hidden = "" if visible.cuda_index(gpu) is not None else " (hidden by CUDA_VISIBLE_DEVICES)"
        lines.append(
            f"GPU {gpu.index} {gpu.name}: {gpu.memory_free / 2**30:.1f} of {gpu.memory_total / 2**30:.1f} GiB free, "
            f"compute {cc}, bf16 {'yes' if gpu.bf16 else 'no'}{hidden}"
        )
        lines.append(f"      {memory_bar(gpu.memory_used, gpu.memory_total)}{_sensors(gpu)}")
        for p in gpu.processes[:5]:
            used = f"{p.used_bytes / 2**30:.1f} GiB" if p.used_bytes is not None else "? GiB"
            lines.append(f"      pid {p.pid} {p.name or '?'}: {used}")
        if len(gpu.processes) > 5:
            lines.append(f"      … and {len(gpu.processes) - 5} more processes")
    if report.driver_version:
        lines.append(f"      driver {report.driver_version}, CUDA {report.cuda_driver_version or '?'}")
    return lines


def memory_bar(used: int, total: int, width: int = 30) -> str:
    """``used ████░░░░ 3.2 / 24.0 GiB``."""
    filled = min(width, round(width * used / total)) if total else 0
    return f"used {'█' * filled}{'░' * (width - filled)} {used / 2**30:.1f} / {total / 2**30:.1f} GiB"


def _sensors(gpu) -> str:
    parts = []
    if gpu.temperature_c is not None:
        parts.append(f"{gpu.temperature_c} °C")
    if gpu.power_draw_w is not None:
        limit = f" of {gpu.power_limit_w:.0f}" if gpu.power_limit_w else ""
        parts.append(f"{gpu.power_draw_w:.0f}{limit} W")
    if gpu.throttle_reasons:
        parts.append("throttled: " + ", ".join(gpu.throttle_reasons))
    return ("   " + ", ".join(parts)) if parts else ""


def summary() -> list[str]:
    return cpu_lines() + gpu_lines()


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
