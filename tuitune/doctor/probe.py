"""The doctor's checks that must import torch, run as a worker:
``python -m tuitune.doctor.probe --gpus N`` prints one JSON object, ``{"checks": [...]}``.

``--gpus`` is what NVML saw (the front asks it without torch): a CPU build of torch on a
machine with an NVIDIA GPU is the failure this exists to catch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import Any

from tuitune.doctor.report import Check

TORCH_CUDA = ("pip install torch --index-url https://download.pytorch.org/whl/cu128 "
              "(a CUDA build; pick the CUDA your driver supports)")


def check_torch(gpus: int) -> tuple[Check, Any]:
    try:
        import torch
    except ImportError as e:
        return Check("torch", "fail", f"torch does not import ({e})", "pip install torch"), None
    build = f"torch {torch.__version__}"
    if torch.version.cuda is None:
        if gpus:
            return Check("torch", "fail", f"{build} is a CPU build, but this machine has {gpus} NVIDIA GPU(s)",
                         TORCH_CUDA), torch
        return Check("torch", "ok", f"{build}, a CPU build (no NVIDIA GPU here: CPU training only)"), torch
    if not torch.cuda.is_available():
        return Check("torch", "fail" if gpus else "warn",
                     f"{build} (CUDA {torch.version.cuda}) sees no GPU",
                     "update the NVIDIA driver to one that supports this CUDA, or install a torch built for "
                     "an older CUDA" if gpus else "nothing to do on a machine without a GPU"), torch
    n = torch.cuda.device_count()
    bf16 = torch.cuda.is_bf16_supported()
    return Check("torch", "ok", f"{build} (CUDA {torch.version.cuda}) sees {n} GPU(s); bf16 "
                 f"{'yes' if bf16 else 'no (fp16 is used)'}"), torch


def check_bitsandbytes(torch: Any) -> Check:
    """QLoRA's 4-bit weights: the library loads, and a 4-bit matmul gives the right numbers."""
    if importlib.util.find_spec("bitsandbytes") is None:
        return Check("bitsandbytes", "warn", "not installed: QLoRA is not available", "pip install bitsandbytes")
    try:
        import bitsandbytes as bnb
        import bitsandbytes.functional as F

        device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(0)
        w = torch.randn(128, 128, device=device)
        x = torch.randn(4, 128, device=device)
        q, state = F.quantize_4bit(w, quant_type="nf4")
        err = ((x @ F.dequantize_4bit(q, state).t() - x @ w.t()).norm() / (x @ w.t()).norm()).item()
    except Exception as e:  # noqa: BLE001 - any failure of the library is the finding
        return Check("bitsandbytes", "fail", f"a 4-bit matmul failed: {type(e).__name__}: {e}",
                     "pip install --force-reinstall bitsandbytes (its CUDA library must match torch's CUDA)")
    if err > 0.2:
        return Check("bitsandbytes", "fail", f"a 4-bit matmul on {device} is off by {err:.0%}",
                     "pip install --force-reinstall bitsandbytes")
    return Check("bitsandbytes", "ok", f"bitsandbytes {bnb.__version__}: a 4-bit (nf4) matmul runs on {device} "
                 f"(error {err:.1%}, as expected of 4 bits)")


def check_flash_attn(torch: Any) -> Check:
    if not torch.cuda.is_available():
        return Check("flash-attn", "skip", "needs a CUDA GPU (SDPA attention is used)")
    major, minor = torch.cuda.get_device_capability()
    if major < 8:
        return Check("flash-attn", "skip", f"the GPU's compute capability {major}.{minor} is below 8.0: "
                     "flash-attention 2 needs Ampere or newer (SDPA is used)")
    if importlib.util.find_spec("flash_attn") is None:
        return Check("flash-attn", "warn", "not installed: attention runs through SDPA, and padding-free "
                     "batches need its varlen kernel", "pip install flash-attn --no-build-isolation")
    try:
        import flash_attn
    except Exception as e:  # noqa: BLE001 - a build for another torch fails here
        return Check("flash-attn", "fail", f"does not import ({type(e).__name__}: {e}); it was built for another torch",
                     "pip install --force-reinstall --no-build-isolation flash-attn")
    return Check("flash-attn", "ok", f"flash-attn {flash_attn.__version__} imports with torch {torch.__version__}")


def check_liger(torch: Any) -> Check:
    if not torch.cuda.is_available():
        return Check("liger-kernel", "skip", "needs a CUDA GPU (its Triton kernels run there)")
    if importlib.util.find_spec("liger_kernel") is None:
        return Check("liger-kernel", "warn", "not installed: fused kernels that save memory and time are off",
                     "pip install liger-kernel")
    try:
        import liger_kernel  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return Check("liger-kernel", "fail", f"does not import ({type(e).__name__}: {e})",
                     "pip install --force-reinstall liger-kernel")
    return Check("liger-kernel", "ok", "liger-kernel imports")


def probe(gpus: int) -> list[Check]:
    torch_check, torch = check_torch(gpus)
    if torch is None:
        return [torch_check]
    return [torch_check, check_bitsandbytes(torch), check_flash_attn(torch), check_liger(torch)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuitune.doctor.probe")
    parser.add_argument("--gpus", type=int, default=0, help="how many GPUs NVML saw")
    args = parser.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the answer
    print(json.dumps({"checks": [c.to_json() for c in probe(args.gpus)]}), file=out, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
