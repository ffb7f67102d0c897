"""Supervised fine-tuning with TRL's SFTTrainer: full, LoRA and QLoRA.

Reads top to bottom: data and model (train/session.py) → trainer config → train → save.
"""

from __future__ import annotations

from typing import Any

from tuitune.data.tokenize import encode_all
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.runs.store import RunDir
from tuitune.train import session as stage
from tuitune.train.guided import check_labels
from tuitune.train.speed import apply_liger, choose_speed, truncate
from tuitune.train.trainer_args import OPTIMIZERS, common_args, lora_config
from tuitune.train.trainer_base import trainer_class

__all__ = ["train_sft", "OPTIMIZERS"]  # OPTIMIZERS: the memory probe worker reads it from here


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
    from trl import SFTConfig, SFTTrainer

    t, hw = s.preset.train, s.hw
    speed = choose_speed(t, device=hw.device, precision=hw.precision, model_type=s.model.config.model_type,
                         trust_remote_code=s.preset.model.trust_remote_code, available=s.available,
                         attention=s.attention)
    apply_liger(s.model, speed)
    s.events.emit("speed", **speed.event_fields(s.model.config._attn_implementation))
    train_ds, val_ds = s.train_ds, s.val_ds
    if speed.padding_free and not speed.packing:
        train_ds, val_ds = truncate(train_ds, t.max_seq_len), truncate(val_ds, t.max_seq_len)

    args = {**common_args(s.run, s.preset, hw, val_ds is not None), **speed.sft_config_kwargs(t.max_seq_len)}
    config = SFTConfig(**args, completion_only_loss=False)
    return trainer_class(SFTTrainer)(
        model=s.model,
        args=config,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=s.tokenizer,
        peft_config=lora_config(s.preset, s.hw),
        callbacks=s.callbacks(),
    )
