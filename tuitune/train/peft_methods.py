"""Each ``train.method``'s trainable state, built through PEFT (or, for ``freeze``, by switching
gradients off): the PEFT config handed to the TRL trainer, the frozen layers, the LoRA+
optimizer, and the adapter saved so that export can merge it.

- lora / qlora: ``LoraConfig`` with the ``[lora]`` variants: DoRA (``use_dora``), rsLoRA
  (``use_rslora``), the init (PiSSA, OLoRA; LoftQ on a 4-bit base), LoRA+ (``lora_plus_ratio``,
  PEFT's ``create_loraplus_optimizer``).
- ia3: ``IA3Config``; prompt_tuning / prefix_tuning: ``PromptTuningConfig`` / ``PrefixTuningConfig``.
- freeze: no adapter; every parameter but the last ``freeze_trainable_layers`` decoder layers
  (and the ``freeze_trainable_modules``) has ``requires_grad`` off, so the Trainer's optimizer
  holds state for the trained ones only.

PiSSA and OLoRA start the adapter from the base's own weights and subtract that start from the
base. The adapter a run saves is therefore converted back to a plain LoRA delta on the
*original* base (PEFT's ``path_initial_model_for_weight_conversion``), from the initial adapter
this module saves before the first step; export and chat then treat it as any LoRA.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tuitune.preset import Preset
from tuitune.preset.methods import LORA_METHODS, REWRITING_INITS, freeze_layers
from tuitune.train import ranks
from tuitune.weights.loading import Hardware

INITIAL_ADAPTER = "adapter-initial"  # in the run's checkpoints/: the PiSSA/OLoRA start, for conversion
_IA3_FEEDFORWARD = ("down_proj", "fc2", "w2", "c_proj", "dense_4h_to_h")


def peft_config(preset: Preset, hw: Hardware) -> Any:
    """The PEFT config of the run's method, or None (full, freeze)."""
    method, lora = hw.method, preset.lora
    if method in LORA_METHODS:
        from peft import LoraConfig

        return LoraConfig(
            r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules,
            use_dora=lora.use_dora, use_rslora=lora.use_rslora, init_lora_weights=_init(lora.init),
            task_type="CAUSAL_LM",
        )
    if method == "ia3":
        from peft import IA3Config

        targets = lora.target_modules
        if targets == "all-linear":  # PEFT's own choice per architecture: k, v and the MLP's down projection
            return IA3Config(task_type="CAUSAL_LM")
        return IA3Config(target_modules=list(targets), feedforward_modules=[t for t in targets if t in _IA3_FEEDFORWARD],
                         task_type="CAUSAL_LM")
    if method == "prompt_tuning":
        from peft import PromptTuningConfig

        return PromptTuningConfig(num_virtual_tokens=lora.virtual_tokens, task_type="CAUSAL_LM")
    if method == "prefix_tuning":
        from peft import PrefixTuningConfig

        return PrefixTuningConfig(num_virtual_tokens=lora.virtual_tokens, task_type="CAUSAL_LM")
    return None


def _init(init: str) -> Any:
    # LoftQ is applied after the adapter exists (apply_loftq), on the 4-bit base: PEFT's in-config
    # LoftQ would quantize a full-precision base itself and leave a changed base to carry around.
    return {"gaussian": True, "loftq": True}.get(init, init)


def prepare_model(model: Any, preset: Preset, hw: Hardware) -> None:
    """Before the trainer is built: method freeze switches gradients off outside the trained part."""
    if hw.method != "freeze":
        return
    # The frozen layers' input needs no gradient: transformers 5 and TRL checkpoint with
    # use_reentrant=False, which trains a checkpointed layer whatever its input (the reentrant
    # variant would not, and enable_input_require_grads would make every frozen layer keep its graph).
    trained = freeze(model, freeze_layers(preset.train), preset.train.freeze_trainable_modules)
    if not trained:
        from tuitune.errors import TuituneError

        raise TuituneError(f"train.freeze_trainable_modules {preset.train.freeze_trainable_modules}: no parameter "
                           "of this model has a name containing one of them; names look like "
                           f"{', '.join(n for n, _ in list(model.named_parameters())[:3])}")


def freeze(model: Any, layers: int | None, modules: list[str]) -> int:
    """Train only the last ``layers`` decoder layers and the parameters named by ``modules``;
    returns how many parameters train."""
    count = _layer_count(model)
    first = count - min(layers, count) if layers else count
    pattern = re.compile(r"(?:^|\.)layers\.(\d+)\.")
    trained = 0
    for name, param in model.named_parameters():
        match = pattern.search(name)
        on = bool(match and int(match.group(1)) >= first) or any(m in name for m in modules)
        param.requires_grad_(on)
        trained += param.numel() if on else 0
    return trained


def _layer_count(model: Any) -> int:
    config = model.config
    return int(getattr(config, "num_hidden_layers", None) or config.get_text_config().num_hidden_layers)


def after_trainer(trainer: Any, run_checkpoints: Path, preset: Preset, hw: Hardware, resuming: bool) -> None:
    """Once the trainer holds the PEFT model: LoRA+'s ratio for the optimizer, LoftQ's fit on the
    4-bit base, and (first start only) the initial adapter PiSSA/OLoRA are converted against."""
    lora = preset.lora
    if hw.method not in LORA_METHODS:
        return
    trainer.loraplus_ratio = lora.lora_plus_ratio
    if lora.init == "loftq" and not resuming:
        from peft import replace_lora_weights_loftq

        replace_lora_weights_loftq(trainer.model)
    if lora.init in REWRITING_INITS:
        initial = run_checkpoints / INITIAL_ADAPTER
        if not (initial / "adapter_config.json").exists():
            save_initial(trainer.model, initial)


def save_initial(model: Any, folder: Path) -> None:
    """The adapter as initialized (before any step), marked as a plain init so that loading it
    does not run the SVD again."""
    config = model.peft_config["default"]
    init = config.init_lora_weights
    config.init_lora_weights = True
    try:
        model.save_pretrained(str(folder))
    finally:
        config.init_lora_weights = init


def save_result(trainer: Any, out: Path, run_checkpoints: Path, preset: Preset, hw: Hardware) -> None:
    """The trained result into ``out``: PiSSA/OLoRA converted to plain LoRA on the original base."""
    if hw.method in LORA_METHODS and preset.lora.init in REWRITING_INITS:
        if not ranks.is_main():  # one writer, as trainer.save_model does for the other methods
            return
        initial = run_checkpoints / INITIAL_ADAPTER
        trainer.model.save_pretrained(str(out), path_initial_model_for_weight_conversion=str(initial))
        return
    trainer.save_model(str(out))


def loraplus_optimizer(model: Any, args: Any, ratio: float) -> Any:
    """LoRA+ (Hayou et al. 2024): B learns ``ratio`` times faster than A, through PEFT's helper,
    with the optimizer class and settings the preset's ``train.optimizer`` gives the Trainer."""
    from peft.optimizers import create_loraplus_optimizer
    from transformers import Trainer

    optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    kwargs = {k: v for k, v in kwargs.items() if k != "lr"}
    return create_loraplus_optimizer(model, optimizer_cls, lr=args.learning_rate, loraplus_lr_ratio=ratio,
                                     weight_decay=args.weight_decay, **kwargs)
