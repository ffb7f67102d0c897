"""llama.cpp's quantizer, in one place for the export worker and the chat: the export makes
each GGUF type from the 16-bit file, and the chat's compare mode turns the base model's GGUF
into the tuned side's type, so that what differs between A and B is the training, not the
quantization. The base's copy is cached under ``$TUITUNE_HOME/cache/base-gguf``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from tuitune.hardware.cpu import threads as cpu_threads
from tuitune.paths import cache_dir


def llama_quantize(src: Path, dst: Path, quant: str, *, allow_requantize: bool = False, threads: int | None = None) -> int:
    """Write ``src`` as GGUF type ``quant`` to ``dst`` (through a ``.partial`` file, so ``dst`` is
    whole or absent); returns llama.cpp's code, 0 for success. A blocking C call: keep it off a UI thread."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}")
    params.nthread = threads or cpu_threads()
    params.allow_requantize = allow_requantize
    tmp = dst.with_suffix(".partial")
    with quiet_stderr():
        rc = int(llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params)))
    if rc != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        return rc or -1
    os.replace(tmp, dst)
    return 0


def base_as(src: Path, quant: str, threads: int | None = None) -> Path:
    """The base GGUF ``src`` requantized to ``quant``, cached by the file's name, size and time.
    The tuned side was trained from ``src``'s weights as transformers dequantizes them, so the
    requantized copy is the same starting point seen through the same quantization."""
    from tuitune.chat.backend import ChatError

    stat = src.stat()
    # The folder names the source (a reinstalled file is another one); the file says what it is.
    dst = cache_dir("base-gguf", f"{src.stem}-{stat.st_size}-{int(stat.st_mtime)}") / f"{src.stem}.as-{quant}.gguf"
    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    rc = llama_quantize(src, dst, quant, allow_requantize=True, threads=threads)
    if rc != 0:
        raise ChatError(f"llama.cpp could not turn the base model {src.name} into {quant} (code {rc}) for the "
                        "comparison; its own type is compared instead")
    return dst


class quiet_stderr:
    """llama.cpp logs every tensor to fd 2 while quantizing; keep that out of the terminal."""

    def __enter__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
