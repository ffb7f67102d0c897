"""Supervised fine-tuning with TRL's SFTTrainer: full, LoRA and QLoRA.

Reads top to bottom: data and model (train/session.py) → trainer config → train → save.
"""

from __future__ import annotations

from typing import Any

from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.run_store import RunDir
from tuitune.train import session as stage
from tuitune.train.guided import check_labels
from tuitune.train.tokenize import encode_all
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

    config = SFTConfig(
        **common_args(s.run, s.preset, s.hw, s.val_ds is not None),
        packing=s.preset.train.packing,
        completion_only_loss=False,
    )
    return trainer_class(SFTTrainer)(
        model=s.model,
        args=config,
        train_dataset=s.train_ds,
        eval_dataset=s.val_ds,
        processing_class=s.tokenizer,
        peft_config=lora_config(s.preset, s.hw),
        callbacks=s.callbacks(),
    )
