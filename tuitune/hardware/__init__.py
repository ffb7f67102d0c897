"""Hardware and planning: which GPU is here, how big the model is, and what training fits.

Light core: nothing in this package imports torch, transformers, peft, trl, accelerate or
bitsandbytes when imported or on the `tuitune gpus` / `tuitune plan` path. NVML is read through
nvidia-ml-py (imported lazily, behind :mod:`tuitune.hardware.nvml`), model shapes come from
``config.json`` or GGUF metadata, and the planner is arithmetic documented in docs/planner.md.
"""

from tuitune.hardware.errors import PlannerError

__all__ = ["PlannerError"]
