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

from tuitune.errors import TuituneError
from tuitune.models.ref import ModelRef, parse_model_ref, unbundle
from tuitune.models.tokenizer import DEFAULT_CHAT_TEMPLATE
from tuitune.preset import Preset
from tuitune.preset.methods import writes_model
from tuitune.weights.gguf_compat import drop_gguf_quantizer


class ModelLoadError(TuituneError):
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
    method: str  # a train.method other than "auto" (tuitune.preset.methods)
    gradient_checkpointing: bool
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[self.precision]


def model_source(ref: str | ModelRef) -> ModelSource:
    model = unbundle(parse_model_ref(ref))
    if model.kind == "run":
        from tuitune.weights.run_source import run_model_path

        return ModelSource(str(run_model_path(model)))
    if model.kind == "gguf":
        assert model.path is not None
        if not model.path.is_file():
            raise ModelLoadError(f"model.path: GGUF file not found: {model.text}")
        from tuitune.weights.gguf_compat import enable_transformers_gguf

        enable_transformers_gguf()
        return ModelSource(str(model.path.parent), model.path.name)
    if model.kind == "folder" and model.path is not None and model.path.is_absolute() and not model.path.exists():
        raise ModelLoadError(f"model.path: no such folder: {model.text}")
    return ModelSource(model.value)


def read_tokenizer(source: ModelSource, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The tokenizer as the model ships it (no defaults filled in)."""
    try:
        return AutoTokenizer.from_pretrained(source.name_or_path, trust_remote_code=trust_remote_code, **source.kwargs)
    except OSError as e:
        raise ModelLoadError(_explain_load_error(source, e)) from None


def load_tokenizer(source: ModelSource, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The tokenizer for training and chat, with tuitune's defaults (the light loader in
    tuitune.models.tokenizer fills in the same two)."""
    tokenizer = read_tokenizer(source, trust_remote_code)
    if not tokenizer.chat_template:
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def choose_hardware(preset: Preset, source: ModelSource, tokens: dict[str, Any] | None = None) -> Hardware:
    """Device, precision, method and checkpointing from the preset's `auto` settings; ``tokens``
    (the cleaned data's token statistics) lets `method = "auto"` plan at the data's real lengths."""
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
        from tuitune.preset.methods import auto_within_lora

        method, reason = auto_within_lora(preset, *_auto_method(device, preset, tokens))
    checkpointing = train.gradient_checkpointing
    if checkpointing == "auto":
        checkpointing = device == "cuda"
    return Hardware(device, precision, method, bool(checkpointing), reason)


def _auto_method(device: str, preset: Preset, tokens: dict[str, Any] | None = None) -> tuple[str, str]:
    if device == "cpu":
        return "lora", "on the CPU LoRA is the practical choice"
    from tuitune.hardware.calibration import for_gpu
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.plan import at_data_length, recommend_for, setup_from_preset
    from tuitune.preset.schema import REFERENCE_STAGES
    from tuitune.runs.refs import readable_ref

    free, _total = torch.cuda.mem_get_info()
    t = preset.train
    # The micro-batch stays the preset's, so its longest row decides; not the p99 with
    # truncation, which would need a shorter max_seq_len than this run trains with.
    planned, note = at_data_length(setup_from_preset(preset, torch.cuda.is_bf16_supported()), tokens,
                                   max_seq_len=t.max_seq_len, packing=t.packing)
    try:
        rec = recommend_for(readable_ref(preset.model.path), free, max_seq_len=planned.seq_len,
                            batch=t.batch_size, stage=t.stage,
                            precompute_ref=t.stage in REFERENCE_STAGES and preset.dpo.precompute_ref,
                            calibration=for_gpu(cuda_gpu_name()))
    except PlannerError as e:
        return "qlora", f"the planner could not read the model's shape ({e}); QLoRA is the safest choice"
    if rec.method is None:
        return "qlora", "nothing fits comfortably: " + "; ".join(rec.advice)
    return rec.method, rec.explanation + (f" ({note}.)" if note else "")


def cuda_gpu_name() -> str | None:
    """NVML's name of the card torch trains on (cuda:0), matched by UUID because NVML ignores
    CUDA_VISIBLE_DEVICES; the calibration file is keyed by it."""
    from tuitune.hardware.nvml import read_gpus

    if not torch.cuda.is_available():
        return None
    uuid = str(getattr(torch.cuda.get_device_properties(0), "uuid", "") or "").removeprefix("GPU-")
    gpus = read_gpus().gpus
    for gpu in gpus:
        if uuid and (gpu.uuid or "").removeprefix("GPU-") == uuid:
            return gpu.name
    return gpus[0].name if len(gpus) == 1 else torch.cuda.get_device_name(0)


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
        # Under DDP each rank's own GPU (accelerate set it current); under FSDP each rank loads
        # to its CPU and FSDP moves its shard over.
        if not _sharded():
            kwargs["device_map"] = {"": torch.cuda.current_device()} if hw.device == "cuda" else {"": "cpu"}
    else:
        # Full fine-tuning keeps fp32 master weights; mixed precision autocasts the compute.
        kwargs["dtype"] = torch.float32 if writes_model(hw.method) or hw.device == "cpu" else hw.dtype
    if not source.gguf_file:
        kwargs["use_safetensors"] = _has_safetensors(source.name_or_path, allow_pickle)
    try:
        model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)
    except OSError as e:
        raise ModelLoadError(_explain_load_error(source, e)) from None
    if source.gguf_file:
        drop_gguf_quantizer(model)
    if hw.device == "cuda" and hw.method != "qlora" and not _sharded():
        model.to("cuda")
    model.config.use_cache = False
    return model


def _sharded() -> bool:
    """A rank of an FSDP or DeepSpeed run (accelerate's launcher says so in the environment)."""
    return any(os.environ.get(k, "").lower() == "true" for k in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"))


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
