"""The trainer settings SFT and DPO share: one preset ``[train]`` section → TrainingArguments
keywords, and ``[lora]`` → a PEFT LoraConfig. Each stage adds its own keys on top."""

from __future__ import annotations

from typing import Any

from tuitune.preset import Preset
from tuitune.preset.keys import choices
from tuitune.runs.store import RunDir
from tuitune.weights.loading import Hardware

# transformers' `optim` name of each preset optimizer: the same name, except where
# transformers spells it otherwise.
_HF_OPTIM = {"adamw": "adamw_torch", "adamw_8bit": "adamw_bnb_8bit"}
OPTIMIZERS = {name: _HF_OPTIM.get(name, name) for name in choices("train.optimizer")}


def common_args(run: RunDir, preset: Preset, hw: Hardware, has_validation: bool) -> dict[str, Any]:
    """Every guided key must be resolved already (tuitune.train.guided)."""
    t = preset.train
    early = bool(preset.eval.early_stopping) and has_validation
    return dict(
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        greater_is_better=False if early else None,
        output_dir=str(run.checkpoints),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        max_length=t.max_seq_len,
        warmup_steps=t.warmup_ratio,
        lr_scheduler_type=t.lr_scheduler,
        weight_decay=t.weight_decay,
        gradient_checkpointing=hw.gradient_checkpointing,
        seed=t.seed,
        data_seed=t.seed,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        eval_strategy="steps" if has_validation else "no",
        eval_steps=t.eval_steps or t.save_steps,
        use_cpu=hw.device == "cpu",
        # TRL's configs default bf16 on, even on the CPU, where it is ~15x slower: always say.
        bf16=hw.precision == "bf16",
        fp16=hw.precision == "fp16",
        optim=OPTIMIZERS[t.optimizer],
        report_to=list(t.report_to) or "none",
        disable_tqdm=True,
        # Collating pre-tokenized rows takes well under a millisecond a batch: loader processes
        # would only compete with the CPU's compute and catch the terminal's Ctrl-C.
        dataloader_num_workers=0,
        # DDP (train.distributed): every trained parameter gets a gradient each step, so the
        # extra autograd traversal that finds unused ones would be pure cost.
        ddp_find_unused_parameters=False,
    )


def lora_config(preset: Preset, hw: Hardware) -> Any:
    """The adapter to train (the PEFT config of the method), or None for full and freeze."""
    from tuitune.train.peft_methods import peft_config

    return peft_config(preset, hw)
