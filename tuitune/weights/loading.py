"""Load the base model and its tokenizer for training, and decide device, precision and method.

Heavy: imports torch and transformers. Runs in the worker process only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from tuitune.models.bundled import resolve_model
from tuitune.preset import Preset

# For tokenizers that ship without a chat template. It uses only tokens every tokenizer has
# (the EOS token ends each assistant turn), so no embedding has to be added or resized.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'user' %}{{ '### User:\n' + message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '### Assistant:\n' + message['content'] + eos_token + '\n\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '### Assistant:\n' }}{% endif %}"
)


class ModelLoadError(Exception):
    """A model reference that cannot be loaded; the message says what to do."""


@dataclass
class ModelSource:
    """Where the weights come from, as ``from_pretrained`` wants it."""

    name_or_path: str
    gguf_file: str | None = None

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


@dataclass
class Hardware:
    device: str  # "cuda" or "cpu"
    precision: str  # "bf16", "fp16" or "fp32"
    method: str  # "full", "lora" or "qlora"
    gradient_checkpointing: bool
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[self.precision]


def model_source(ref: str) -> ModelSource:
    if ref.startswith("run:"):
        from tuitune.weights.run_source import run_model_path

        return ModelSource(str(run_model_path(ref)))
    if ref.startswith("bundled:"):
        ref = str(resolve_model(ref))
    path = Path(ref)
    if ref.endswith(".gguf"):
        if not path.is_file():
            raise ModelLoadError(f"model.path: GGUF file not found: {ref}")
        from tuitune.weights.gguf_compat import enable_transformers_gguf

        enable_transformers_gguf()
        return ModelSource(str(path.parent), path.name)
    if path.is_absolute() and not path.exists():
        raise ModelLoadError(f"model.path: no such folder: {ref}")
    return ModelSource(ref)


def load_tokenizer(source: ModelSource, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.name_or_path, trust_remote_code=trust_remote_code, **source.kwargs
        )
    except OSError as e:
        raise ModelLoadError(_explain_load_error(source, e)) from None
    if not tokenizer.chat_template:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def choose_hardware(preset: Preset, source: ModelSource) -> Hardware:
    """Device, precision, method and checkpointing from the preset's `auto` settings."""
    train = preset.train
    cuda = torch.cuda.is_available()
    if train.device == "cuda" and not cuda:
        raise ModelLoadError("train.device is 'cuda' but PyTorch sees no CUDA GPU; set device = 'auto' or 'cpu'")
    device = "cuda" if (train.device == "cuda" or (train.device == "auto" and cuda)) else "cpu"
    precision = train.precision
    if precision == "auto":
        if device == "cpu":
            precision = "fp32"  # bf16 autocast on the CPU is ~15x slower than fp32 here
        else:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    method: str = train.method
    reason = "set in the preset"
    if method == "auto":
        method, reason = _auto_method(device, preset)
    checkpointing = train.gradient_checkpointing
    if checkpointing == "auto":
        checkpointing = device == "cuda"
    return Hardware(device, precision, method, bool(checkpointing), reason)


def _auto_method(device: str, preset: Preset) -> tuple[str, str]:
    if device == "cpu":
        return "lora", "on the CPU LoRA is the practical choice"
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.plan import recommend_for

    free, _total = torch.cuda.mem_get_info()
    try:
        rec = recommend_for(preset.model.path, free, max_seq_len=preset.train.max_seq_len, batch=preset.train.batch_size,
                            stage=preset.train.stage,
                            precompute_ref=preset.train.stage == "dpo" and preset.dpo.precompute_ref)
    except PlannerError as e:
        return "qlora", f"the planner could not read the model's shape ({e}); QLoRA is the safest choice"
    if rec.method is None:
        return "qlora", "nothing fits comfortably: " + "; ".join(rec.advice)
    return rec.method, rec.explanation


def count_parameters(source: ModelSource, trust_remote_code: bool) -> int:
    from accelerate import init_empty_weights
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source.name_or_path, trust_remote_code=trust_remote_code, **source.kwargs)
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    return sum(p.numel() for p in model.parameters())


def load_model(source: ModelSource, hw: Hardware, trust_remote_code: bool, allow_pickle: bool = False,
               attn_implementation: str | None = None) -> Any:
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code, **source.kwargs}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if hw.method == "qlora":
        from transformers import BitsAndBytesConfig

        compute = hw.dtype if hw.device == "cuda" else torch.float32
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
            bnb_4bit_quant_storage=compute,
        )
        kwargs["dtype"] = compute
        kwargs["device_map"] = {"": 0} if hw.device == "cuda" else {"": "cpu"}
    else:
        # Full fine-tuning keeps fp32 master weights; mixed precision autocasts the compute.
        kwargs["dtype"] = torch.float32 if hw.method == "full" or hw.device == "cpu" else hw.dtype
    if not source.gguf_file:
        kwargs["use_safetensors"] = _has_safetensors(source.name_or_path, allow_pickle)
    try:
        model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)
    except OSError as e:
        raise ModelLoadError(_explain_load_error(source, e)) from None
    if source.gguf_file:
        # A GGUF-loaded model carries a GGUF "quantizer" that refuses save_pretrained; the
        # weights are already dequantized, so drop it.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if hw.device == "cuda" and hw.method != "qlora":
        model.to("cuda")
    model.config.use_cache = False
    return model


def _has_safetensors(name_or_path: str, allow_pickle: bool = False) -> bool | None:
    """Local folders must hold safetensors unless the preset allows pickles; hub ids: safetensors
    when the repository has them (HF prefers them), pickles only when allowed."""
    path = Path(name_or_path)
    if not path.is_dir():
        return None if allow_pickle else True
    if any(path.glob("*.safetensors")):
        return True
    if allow_pickle:
        return False
    raise ModelLoadError(
        f"model.path: {path} has no .safetensors weights; tuitune does not load pickled weights "
        "(.bin) unless model.allow_pickle = true. Convert them with `save_pretrained(..., safe_serialization=True)` first."
    )


def _explain_load_error(source: ModelSource, error: Exception) -> str:
    ref = source.name_or_path
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if Path(ref).exists():
        return f"model.path: cannot load {ref}: {error}"
    if "safetensors" in str(error) and ".bin" in str(error):
        return (f"model.path: {ref!r} has no .safetensors weights, only pickled ones, and tuitune does not "
                "unpickle weights unless model.allow_pickle = true (only for authors you trust).")
    hint = "it is not in the local Hugging Face cache and the hub cannot be reached"
    if offline:
        hint = "HF_HUB_OFFLINE=1 and it is not in the local Hugging Face cache"
    return (
        f"model.path: cannot load {ref!r}: {hint}. Download it once while online "
        f"(`huggingface-cli download {ref}`), or point model.path at a local folder or .gguf file."
    )
