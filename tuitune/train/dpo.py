"""Preference training (DPO) with TRL's DPOTrainer: full, LoRA and QLoRA.

Reads top to bottom: data and model (train/session.py) → pairs to token ids → reference →
trainer config → train → save. The reference is the starting model:

- LoRA/QLoRA: the same model with the adapter switched off (TRL does this when it is given a
  PEFT config and no reference), so no second copy is held;
- full: a second, frozen copy in the compute dtype, or none at all with
  ``[dpo] precompute_ref``, which computes the reference log-probs once before training.

On resume the trainer is rebuilt from the original starting model, so the reference stays the
original one; only the trained weights come from the checkpoint.
"""

from __future__ import annotations

from typing import Any

from tuitune.data.tokenize import encode_pair
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.runs.store import RunDir
from tuitune.train import session as stage
from tuitune.train.peft_methods import after_trainer, prepare_model
from tuitune.train.trainer_args import common_args, lora_config
from tuitune.train.trainer_base import trainer_class
from tuitune.weights.loading import load_model


def train_dpo(run: RunDir, preset: Preset, events: EventWriter) -> str:
    """Train (or resume) the run; returns the final status: ``done`` or ``stopped``."""

    def encode(tokenizer: Any, train: list[dict], val: list[dict]) -> tuple[Any, Any]:
        train_ds = encode_pairs(tokenizer, train, preset, events, "train")
        val_ds = encode_pairs(tokenizer, val, preset, events, "validation") if val else None
        return train_ds, val_ds

    session = stage.start(run, preset, events, encode)
    return stage.finish(session, _build_trainer(session))


def encode_pairs(tokenizer: Any, rows: list[dict], preset: Preset, events: EventWriter, split: str) -> Any:
    """Token ids for every usable pair; pairs that cannot teach anything at these lengths are
    left out and counted in a warning (the data report counted the ones cleaning removed)."""
    from datasets import Dataset

    dpo, max_len = preset.dpo, preset.train.max_seq_len
    kept, no_room, same = [], 0, 0
    for row in rows:
        pair = encode_pair(tokenizer, row, dpo.max_prompt_len, dpo.max_completion_len)
        room = max_len - len(pair["prompt_ids"])
        if room <= 0:
            no_room += 1
        elif pair["chosen_ids"][:room] == pair["rejected_ids"][:room]:
            same += 1  # the two answers differ only after the cut: no preference left to learn
        else:
            kept.append(pair)
    if no_room or same:
        events.emit(
            "warning", split=split, dropped_pairs=no_room + same,
            message=f"{split}: {no_room + same} of {len(rows)} pairs left out: {no_room} prompts fill "
                    f"train.max_seq_len ({max_len}), {same} pairs are identical within it; raise "
                    "train.max_seq_len or set dpo.max_prompt_len",
        )
    if not kept:
        from tuitune.data.loader import DataError

        raise DataError(f"{preset.data.path}: no {split} pair fits train.max_seq_len ({max_len}) with its two answers "
                        "still different; raise train.max_seq_len or set dpo.max_prompt_len")
    return Dataset.from_list(kept)


def _build_trainer(s: stage.Session) -> Any:
    from trl import DPOConfig, DPOTrainer

    class PretokenizedDPOTrainer(DPOTrainer):
        """Takes the pairs already tokenized (encode_pairs) so that our prompt and answer limits
        hold; TRL's own tokenization knows only one total length."""

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            if "prompt_ids" in dataset.column_names:
                return dataset
            return super()._prepare_dataset(dataset, *args, **kwargs)

    dpo, hw = s.preset.dpo, s.hw
    config = DPOConfig(
        **common_args(s.run, s.preset, hw, s.val_ds is not None),
        beta=dpo.beta,
        loss_type=[dpo.loss_type],
        label_smoothing=dpo.label_smoothing,
        precompute_ref_log_probs=dpo.precompute_ref,
    )
    peft_config = lora_config(s.preset, hw)
    prepare_model(s.model, s.preset, hw)
    trainer = trainer_class(PretokenizedDPOTrainer)(
        model=s.model,
        ref_model=reference_model(s, peft_config),
        args=config,
        train_dataset=s.train_ds,
        eval_dataset=s.val_ds,
        processing_class=s.tokenizer,
        peft_config=peft_config,
        callbacks=s.callbacks(),
    )
    after_trainer(trainer, s.run.checkpoints, s.preset, hw, resuming=s.resume_from is not None)
    return trainer


def reference_model(s: stage.Session, peft_config: Any) -> Any:
    """The frozen reference a full fine-tune compares with (DPO, KTO), or None: LoRA's reference
    is the base with the adapter off, and ``precompute_ref`` needs none. TRL would reload it from
    config._name_or_path, which is wrong for a GGUF base and keeps fp32 master weights; the
    reference only runs forward, in the compute dtype."""
    if peft_config is not None or s.preset.dpo.precompute_ref:
        return None
    ref_model = load_model(s.source, _frozen(s.hw), s.preset.model.trust_remote_code,
                           allow_pickle=s.preset.model.allow_pickle)
    ref_model.requires_grad_(False)
    ref_model.eval()
    return ref_model


def _frozen(hw: Any) -> Any:
    """Load settings for the frozen reference: like LoRA's base (compute dtype, not fp32 masters)."""
    from dataclasses import replace

    return replace(hw, method="lora")
