"""Merge a run's result into plain 16-bit safetensors (``merged/``) with its tokenizer, chat
template and generation config. Heavy: runs in a worker process.

A LoRA or QLoRA adapter (DoRA, rsLoRA, PiSSA/OLoRA saved as plain LoRA deltas) or an IA3 adapter
is merged into the base reloaded in 16-bit — never into 4- or 8-bit layers, which would round the
update away and quantize twice. Prompt and prefix tuning have nothing to merge (refused).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from tuitune.errors import TuituneError
from tuitune.preset.methods import export_refusal
from tuitune.runs.store import RunDir
from tuitune.weights.gguf_compat import drop_gguf_quantizer
from tuitune.weights.loading import ModelSource, load_tokenizer, model_source


@dataclass
class Merged:
    path: Path
    dtype: str
    source: str  # "adapter" or "model"


def merge(run: RunDir, out: Path) -> Merged:
    from transformers import AutoModelForCausalLM, GenerationConfig

    preset = run.preset()
    trust = preset.model.trust_remote_code
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16
    if (run.model / "config.json").exists():
        model = AutoModelForCausalLM.from_pretrained(run.model, dtype=dtype, trust_remote_code=trust)
        tokenizer_dir, kind = run.model, "model"
    elif (run.adapter / "adapter_config.json").exists():
        from peft import PeftModel

        refusal = export_refusal(run.read_state().method, run.id)
        if refusal:  # a prompt-learning adapter has no weights to merge
            raise ExportError(f"run {run.id} has nothing to merge into its base: {refusal}")

        source = model_source(preset.model.path)
        # Merge in fp32 (exact on the CPU), then store 16-bit.
        base = AutoModelForCausalLM.from_pretrained(
            source.name_or_path, dtype=torch.float32, trust_remote_code=trust, **source.kwargs
        )
        if source.gguf_file:
            drop_gguf_quantizer(base)
        model = PeftModel.from_pretrained(base, run.adapter).merge_and_unload()
        model = model.to(dtype)
        tokenizer_dir, kind = run.adapter, "adapter"
    else:
        raise ExportError(f"run {run.id} has no trained result yet (no adapter/ or model/); finish or resume it first")

    if out.exists():
        shutil.rmtree(out)
    model.config.use_cache = True
    model.save_pretrained(out, safe_serialization=True)
    tokenizer = load_tokenizer(ModelSource(str(tokenizer_dir)), trust)
    tokenizer.save_pretrained(out)
    generation = GenerationConfig.from_model_config(model.config)
    generation.eos_token_id = end_token_ids(tokenizer)
    generation.pad_token_id = tokenizer.pad_token_id
    generation.save_pretrained(out)
    (out / "tuitune-merge.json").write_text(json.dumps({"dtype": str(dtype).removeprefix("torch."), "from": kind}))
    return Merged(out, str(dtype).removeprefix("torch."), kind)


def end_token_ids(tokenizer) -> list[int]:
    """Every token that ends an assistant turn: EOS plus the template's end-of-turn tokens."""
    ids = {tokenizer.eos_token_id}
    for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token in (tokenizer.chat_template or ""):
            ids.add(token_id)
    return sorted(i for i in ids if i is not None)


class ExportError(TuituneError):
    """An export that cannot proceed; the message says why and what to do."""


# Re-exported for model_source users that only need a path.
__all__ = ["merge", "Merged", "ExportError", "end_token_ids", "model_source"]
