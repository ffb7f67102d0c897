"""Supervised fine-tuning with TRL's SFTTrainer: full, LoRA and QLoRA.

Reads top to bottom: data → tokenizer and model → trainer config → train → save.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuitune.data.pipeline import prepare
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.run_store import RunDir, tuitune_home
from tuitune.train.callbacks import EventCallback, StopCallback, stop_requested
from tuitune.checkpoints import checkpoint_step, latest_checkpoint
from tuitune.train.model_loading import (
    choose_hardware,
    load_model,
    load_tokenizer,
    model_source,
)
from tuitune.train.speed import Available, apply_liger, choose_attention, choose_speed, peak_memory_callback, truncate
from tuitune.train.tokenize import encode_all


OPTIMIZERS = {
    "adamw": "adamw_torch",
    "adamw_8bit": "adamw_bnb_8bit",
    "paged_adamw_8bit": "paged_adamw_8bit",
    "paged_adamw_32bit": "paged_adamw_32bit",
    "adafactor": "adafactor",
}


def train_sft(run: RunDir, preset: Preset, events: EventWriter) -> str:
    """Train (or resume) the run; returns the final status: ``done`` or ``stopped``."""
    source = model_source(preset.model.path)
    trust = preset.model.trust_remote_code

    tokenizer = load_tokenizer(source, trust)
    train, val, report = prepare(
        preset.data, run.data_dir, tokenizer, seed=preset.train.seed, max_seq_len=preset.train.max_seq_len,
        stage=preset.train.stage, cache_dir=tuitune_home() / "cache" / "data",
    )
    train_rows, val_rows = [r["messages"] for r in train], [r["messages"] for r in val]
    events.emit(
        "data", path=report["source"], format=report["format"], train_rows=len(train_rows),
        val_rows=len(val_rows), rejected=report["rejected"], steps=report["steps"],
        tokens=report["stats"].get("tokens"),
    )
    assistant_only = preset.train.assistant_only_loss
    train_ds = encode_all(tokenizer, train_rows, assistant_only)
    val_ds = encode_all(tokenizer, val_rows, assistant_only) if val_rows else None

    hw = choose_hardware(preset, source)
    events.emit(
        "status",
        status="loading_model",
        model=preset.model.path,
        device=hw.device,
        precision=hw.precision,
        method=hw.method,
        method_reason=hw.reason,
        gradient_checkpointing=hw.gradient_checkpointing,
    )
    available = Available.detect()
    attention = choose_attention(preset.train, device=hw.device, precision=hw.precision, available=available)
    model = load_model(source, hw, trust, attention[0])
    run.update_state(method=hw.method, device=hw.device)
    speed = choose_speed(preset.train, device=hw.device, precision=hw.precision, model_type=model.config.model_type,
                         trust_remote_code=trust, available=available, attention=attention)
    apply_liger(model, speed)
    events.emit("speed", **speed.event_fields(model.config._attn_implementation))
    if speed.padding_free and not speed.packing:
        train_ds, val_ds = truncate(train_ds, preset.train.max_seq_len), truncate(val_ds, preset.train.max_seq_len)

    resume_from = latest_checkpoint(run.checkpoints)
    if resume_from is not None:
        events.emit("status", status="resuming", checkpoint=str(resume_from), step=checkpoint_step(resume_from))

    trainer = _build_trainer(run, preset, hw, model, tokenizer, train_ds, val_ds, events, speed)
    if stop_requested.is_set():
        return "stopped"
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    if stop_requested.is_set() and trainer.state.global_step < trainer.state.max_steps:
        return "stopped"

    out = run.model if hw.method == "full" else run.adapter
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    events.emit("saved", path=str(out), kind="model" if hw.method == "full" else "adapter", sync=True)
    return "done"


def _build_trainer(run, preset, hw, model, tokenizer, train_ds, val_ds, events, speed) -> Any:
    from trl import SFTConfig, SFTTrainer

    t = preset.train
    eval_steps = t.eval_steps or t.save_steps
    config = SFTConfig(
        output_dir=str(run.checkpoints),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        warmup_steps=t.warmup_ratio,
        lr_scheduler_type=t.lr_scheduler,
        weight_decay=t.weight_decay,
        gradient_checkpointing=hw.gradient_checkpointing,
        **speed.sft_config_kwargs(t.max_seq_len),
        seed=t.seed,
        data_seed=t.seed,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        eval_strategy="steps" if val_ds is not None else "no",
        eval_steps=eval_steps,
        use_cpu=hw.device == "cpu",
        bf16=hw.precision == "bf16",
        fp16=hw.precision == "fp16",
        optim=OPTIMIZERS[t.optimizer],
        report_to="none",
        disable_tqdm=True,
        completion_only_loss=False,
    )
    peft_config = None
    if hw.method in ("lora", "qlora"):
        from peft import LoraConfig

        lora = preset.lora
        peft_config = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
        )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[EventCallback(run, events), StopCallback(run), peak_memory_callback(events)],
    )
    return trainer
