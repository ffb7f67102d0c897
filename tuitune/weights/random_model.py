"""A model folder with random weights in the shape of a released model, and the bundled
SmolLM2 tokenizer: ``python -m tuitune.weights.random_model NAME FOLDER [--device cuda]``.

What the doctor's self-test and the GPU suite train: nothing to download, and the same layers,
sizes and vocabulary as the real model (its ids cover SmolLM2's 49,152, so that tokenizer fits
every shape in :data:`tuitune.hardware.reference.CONFIGS`). Weights are made where they will
be used (on the GPU they are made there in bf16, in seconds) and saved as safetensors.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TOKENIZER_ENV = "TUITUNE_RANDOM_MODEL_TOKENIZER"
"""A saved SmolLM2 tokenizer folder to use instead of the demo extra's GGUF: for a machine
without `tuitune[demo]`, such as the GPU suite's (benchmarks/gpu_suite.py carries one there)."""


def build(name: str, folder: Path, device: str = "cpu") -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from tuitune.hardware.reference import CONFIGS

    saved = os.environ.get(TOKENIZER_ENV)
    if saved:
        tokenizer = AutoTokenizer.from_pretrained(saved)
    else:
        from tuitune.models.bundled import resolve_model
        from tuitune.weights.gguf_compat import enable_transformers_gguf

        enable_transformers_gguf()
        gguf = resolve_model("bundled:smollm2-135m-instruct")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    fields = {k: v for k, v in CONFIGS[name].items() if k not in ("model_type", "architectures")}
    config = LlamaConfig(**fields, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    from tuitune.hardware.reference import CONFIGS

    p = argparse.ArgumentParser(prog="python -m tuitune.weights.random_model", description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=sorted(CONFIGS))
    p.add_argument("folder", type=Path)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = p.parse_args(argv)
    build(args.name, args.folder, args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
