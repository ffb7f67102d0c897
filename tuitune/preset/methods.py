"""What each ``train.method`` is, in one place: which train an adapter (and which kind), which
write a whole model, which merge into a GGUF — and the combinations of method keys a preset may
not make. The planner, the worker, the export and the fronts all ask here. Light core: no torch.

The methods and their sources are in docs/methods.md; keep the two in step.
"""

from __future__ import annotations

from typing import Any

LORA_METHODS = ("lora", "qlora")
"""LoRA adapters; the `[lora]` variants (DoRA, rsLoRA, PiSSA/OLoRA init, LoRA+) apply to these."""
PROMPT_METHODS = ("prompt_tuning", "prefix_tuning")
"""Learned virtual tokens in front of the input (or of every layer's keys and values): nothing in
the weights changes, so there is nothing to merge into a GGUF."""
ADAPTER_METHODS = (*LORA_METHODS, "ia3", *PROMPT_METHODS)
"""Methods whose result is a PEFT adapter (``adapter/``) on the unchanged base."""
WHOLE_MODEL_METHODS = ("full", "freeze")
"""Methods whose result is a whole model (``model/``): every weight, or the unfrozen layers'."""
REWRITING_INITS = ("pissa", "olora")
"""LoRA inits that move the adapter's start out of the base weights (the base is changed too):
the saved adapter is converted back to a plain LoRA delta on the original base."""
LORA_DROPOUT = 0.05
"""LoRA's usual dropout on the adapter's input (PEFT's and TRL's examples)."""
DEFAULT_FREEZE_LAYERS = 2  # LLaMA-Factory's `freeze_trainable_layers` default
PROMPT_PADDING_FREE = ("prompt and prefix tuning: PEFT drops the position ids of a padding-free row, so "
                       "examples laid end to end would attend to each other")

NOT_EXPORTABLE = (
    "{method} learns virtual tokens that are fed to the model with every input; a GGUF holds only "
    "weights, so there is nothing to merge and llama.cpp could not use them. Chat with the run "
    "through its adapter (`tuitune chat {run}`), or train it with method lora to get a GGUF"
)


def is_adapter(method: str) -> bool:
    return method in ADAPTER_METHODS


def writes_model(method: str) -> bool:
    return method in WHOLE_MODEL_METHODS


def export_refusal(method: str | None, run_id: str) -> str | None:
    """Why a run of ``method`` cannot be exported to GGUF, or None when it can."""
    if method in PROMPT_METHODS:
        return NOT_EXPORTABLE.format(method=method.replace("_", " "), run=run_id)
    return None


def problems(preset: Any) -> list[str]:
    """Every combination of method keys the preset may not make, each as one message that names
    the keys and says what to do. Called by the schema, so a preset never runs with one."""
    t, lora = preset.train, preset.lora
    method = t.method
    out: list[str] = []
    variants = lora_variants(lora)
    if variants and method not in (*LORA_METHODS, "auto"):
        keys = ", ".join(f"lora.{k}" for k in variants)
        out.append(f"{keys} {'is a LoRA variant' if len(variants) == 1 else 'are LoRA variants'}: they work with "
                   f"train.method 'lora' or 'qlora', not {method!r}; remove {'it' if len(variants) == 1 else 'them'} "
                   "or set method = \"lora\"")
    if lora.init in REWRITING_INITS and method == "qlora":
        out.append(f"lora.init = {lora.init!r} starts the adapter from the base weights' principal directions and "
                   "rewrites the base with the rest, which a 4-bit base cannot hold; use method \"lora\", or init "
                   "\"loftq\" for a quantized base")
    if lora.init == "loftq" and method != "qlora":
        out.append("lora.init = 'loftq' fits the adapter to a 4-bit base's quantization error, so it works with "
                   "train.method 'qlora' only; use init \"pissa\" for a 16-bit base")
    if lora.init == "loftq" and method == "qlora" and _gguf_base(preset.model.path):
        out.append(f"lora.init = 'loftq' reads the base's full-precision weights from its .safetensors files; "
                   f"model.path {preset.model.path!r} is a GGUF model, which has none: use init \"gaussian\"")
    if lora.init in REWRITING_INITS and lora.use_dora:
        out.append(f"lora.init = {lora.init!r} and lora.use_dora: PEFT cannot convert a DoRA adapter back to plain "
                   "LoRA deltas on the original base (what export needs); use one of the two")
    freeze_keys = [k for k, on in (("freeze_trainable_layers", t.freeze_trainable_layers is not None),
                                   ("freeze_trainable_modules", bool(t.freeze_trainable_modules))) if on]
    if freeze_keys and method != "freeze":
        out.append(f"{', '.join('train.' + k for k in freeze_keys)} choose what method \"freeze\" trains; "
                   f"this preset's train.method is {method!r}: remove them or set method = \"freeze\"")
    if method in PROMPT_METHODS and (t.packing or t.padding_free is True):
        out.append(f"train.method {method!r} with train.packing or train.padding_free = true: {PROMPT_PADDING_FREE}; "
                   "set them to false (padding_free = \"auto\" turns it off for this method)")
    if method in PROMPT_METHODS and t.stage != "sft":
        out.append(f"train.method {method!r} trains with stage 'sft' only (the preference trainers compare "
                   "the model with itself with the adapter off, which virtual tokens do not survive); "
                   "use method \"lora\" for this stage")
    return out


def lora_variants(lora: Any) -> list[str]:
    """The ``[lora]`` variant keys a preset sets (``use_dora``, ``use_rslora``, ``init``,
    ``lora_plus_ratio``): each means the user asked for a LoRA adapter."""
    return [k for k, on in (("use_dora", lora.use_dora), ("use_rslora", lora.use_rslora),
                            ("init", lora.init != "gaussian"), ("lora_plus_ratio", lora.lora_plus_ratio is not None))
            if on]


def auto_within_lora(preset: Any, method: str, reason: str) -> tuple[str, str]:
    """``train.method = "auto"``'s pick kept to an adapter when the preset sets LoRA variant keys:
    the planner's "full" would silently drop them, and a LoRA adapter fits wherever full does."""
    variants = lora_variants(preset.lora)
    if method not in LORA_METHODS and method != "auto" and variants:
        keys = ", ".join(f"lora.{k}" for k in variants)
        return "lora", f"LoRA, because the preset sets {keys} (the planner's pick was {method}: {reason})"
    return method, reason


def freeze_layers(train: Any) -> int | None:
    """How many of the last decoder layers method freeze trains: the preset's, or the default
    when it names no modules either; None when only named modules train."""
    if train.freeze_trainable_layers is not None:
        return int(train.freeze_trainable_layers)
    return None if train.freeze_trainable_modules else DEFAULT_FREEZE_LAYERS


def usual_learning_rate(method: str) -> tuple[float, str] | None:
    """The usual peak rate of a method whose rate does not follow LoRA's or full fine-tuning's
    size rule (guidance.learning_rate), with its source; None for those that do (DoRA, rsLoRA,
    PiSSA and LoRA+ keep LoRA's, freeze full fine-tuning's). docs/methods.md lists the sources."""
    if method == "ia3":
        return 3e-3, ("IA3: 3e-3 (the T-Few paper's rate for (IA)3; a few scaling vectors need a rate ~10x "
                      "LoRA's to move)")
    if method == "prompt_tuning":
        return 3e-2, ("prompt tuning: 3e-2 (PEFT's prompt-tuning guide with AdamW; Lester et al. used 0.3 "
                      "with Adafactor): only the virtual tokens' embeddings learn")
    if method == "prefix_tuning":
        return 1e-2, "prefix tuning: 1e-2 (PEFT's prefix-tuning guide): only the per-layer prefixes learn"
    return None


def _gguf_base(path: str) -> bool:
    return path.lower().endswith(".gguf") or path.startswith("bundled:")


SUMMARIES = {
    "auto": "tuitune picks LoRA when the 16-bit model fits comfortably, else QLoRA (full where it fits best)",
    "full": "every weight trains; the most capacity and memory; exports a GGUF",
    "lora": "a low-rank adapter on the 16-bit base; variants in [lora]: use_dora, use_rslora, init, lora_plus_ratio; "
            "merges into a GGUF",
    "qlora": "a LoRA adapter on a 4-bit base, for models that do not fit in 16-bit; merges into the 16-bit base's GGUF",
    "ia3": "learned scales on keys, values and the MLP (~0.01% of the weights): small style changes, little memory; "
           "merges into a GGUF",
    "prompt_tuning": "learned virtual tokens before every input (lora.virtual_tokens); no weight changes, so no GGUF: "
                     "chat runs through the adapter. For large models: it nears full tuning only past ~10B "
                     "(Lester et al. 2021); a small one learns little",
    "prefix_tuning": "learned keys and values for every layer (lora.virtual_tokens); no GGUF: chat runs through "
                     "the adapter. For large models and long runs: a small one learns little",
    "freeze": "the last train.freeze_trainable_layers layers train in full, the rest frozen; exports a GGUF",
}
"""One line per method, for the fronts (the new-run form's method step, `tuitune run --dry-run`)."""


def summary(method: str) -> str:
    return SUMMARIES.get(method, "")


def lora_dropout(init: str) -> tuple[float, str]:
    """The guided ``lora.dropout`` for an adapter init, with the reason."""
    if init in REWRITING_INITS:
        return 0.0, (f"0 for {init}: the adapter starts as the weights' principal part, so dropout on its input "
                     "would change the model itself, not just the update (PEFT's PiSSA example and LLaMA-Factory "
                     "use 0)")
    return LORA_DROPOUT, f"{LORA_DROPOUT}, LoRA's usual dropout (PEFT's and TRL's examples)"
