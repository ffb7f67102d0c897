"""Supervised fine-tuning with TRL's SFTTrainer: full, LoRA and QLoRA.

Reads top to bottom: data and model (train/session.py) → trainer config → train → save.
"""

from __future__ import annotations

from typing import Any

from tuitune.data.tokenize import encode_all
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.runs.checkpoints import latest_checkpoint
from tuitune.runs.store import RunDir
from tuitune.train import session as stage
from tuitune.train.guided import check_labels
from tuitune.train.offload import install_host_offload
from tuitune.train.peft_methods import after_trainer, prepare_model
from tuitune.train.speed import Available, apply_liger, choose_speed, plan_offloading, speed_report_callback, truncate
from tuitune.train.trainer_args import common_args, lora_config
from tuitune.train.trainer_base import trainer_class
from tuitune.weights.loading import Hardware


def train_sft(run: RunDir, preset: Preset, events: EventWriter) -> str:
    """Train (or resume) the run; returns the final status: ``done`` or ``stopped``."""
    assistant_only = preset.train.assistant_only_loss

    def encode(tokenizer: Any, train: list[dict], val: list[dict]) -> tuple[Any, Any]:
        train_ds = encode_all(tokenizer, [r["messages"] for r in train], assistant_only)
        val_ds = encode_all(tokenizer, [r["messages"] for r in val], assistant_only) if val else None
        check_labels(train_ds["labels"], preset.train.max_seq_len, events)
        return train_ds, val_ds

    session = stage.start(run, preset, events, encode)
    return stage.finish(session, _build_trainer(session))


def _build_trainer(s: stage.Session) -> Any:
    return sft_trainer(s.run, s.preset, s.hw, s.model, s.tokenizer, s.train_ds, s.val_ds, s.events,
                       s.callbacks(), available=s.available, attention=s.attention)


def sft_trainer(run: RunDir, preset: Preset, hw: Hardware, model: Any, tokenizer: Any, train_ds: Any, val_ds: Any,
                events: EventWriter, callbacks: list[Any], *, available: Available,
                attention: tuple[str | None, str]) -> Any:
    """The SFTTrainer a run trains with: its speed plan (attention, padding-free, length
    grouping, Liger) applied to ``model``. The memory probe (train/probe_worker.py) builds its
    trainer here too, so it measures what `tuitune run` would run."""
    from trl import SFTConfig, SFTTrainer

    t = preset.train
    loaded = model.config._attn_implementation
    planned = None
    if hw.device == "cuda" and t.activation_offloading is not False:
        planned = plan_offloading(preset, hw.method, hw.precision, hw.gradient_checkpointing, loaded)
    speed = choose_speed(t, device=hw.device, precision=hw.precision, model_type=model.config.model_type,
                         trust_remote_code=preset.model.trust_remote_code, available=available, attention=attention,
                         planned=planned)
    apply_liger(model, speed)
    if speed.padding_free and not speed.packing:
        train_ds, val_ds = truncate(train_ds, t.max_seq_len), truncate(val_ds, t.max_seq_len)

    args = {**common_args(run, preset, hw, val_ds is not None), **speed.sft_config_kwargs(t.max_seq_len)}
    config = SFTConfig(**args, completion_only_loss=False)
    prepare_model(model, preset, hw)
    trainer = trainer_class(SFTTrainer)(
        model=model,
        args=config,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        peft_config=lora_config(preset, hw),
        callbacks=callbacks,
    )
    after_trainer(trainer, run.checkpoints, preset, hw, resuming=latest_checkpoint(run.checkpoints) is not None)
    if speed.offload_by == "saved_tensor_hooks":
        install_host_offload(trainer, events)
    trainer.add_callback(speed_report_callback(trainer, events, speed.event_fields(loaded)))
    return trainer
