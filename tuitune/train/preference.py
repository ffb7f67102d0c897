"""The preference stages beyond DPO, each through its TRL trainer: full, LoRA and QLoRA.

- ``kto``: TRL's KTOTrainer on answers marked good or bad (unpaired rows); a preference file's
  pairs are split into one good and one bad row each. Its reference is DPO's (train/dpo.py):
  LoRA's is the base with the adapter off, a full fine-tune's a frozen copy (or none with
  ``[dpo] precompute_ref``). Each batch also runs a KL batch: the same completions paired with
  other prompts of the batch, forward only, so ``train.batch_size`` must be 2 or more.
- ``orpo``: TRL's ORPOTrainer, SFT loss on the chosen answer plus an odds-ratio term, no
  reference model;
- ``simpo``: TRL's CPOTrainer with ``loss_type = "simpo"``: length-normalized rewards and a
  target margin ``simpo_gamma``, no reference model.

ORPO and CPO live in ``trl.experimental`` in TRL 1.x (KTO is stable in ``trl``); this module is
the only one that imports them, so a move in TRL is fixed here. The pairs for ORPO and SimPO are
tokenized as DPO's are (train/dpo.encode_pairs: our prompt and answer limits, the same warnings),
then laid out in the columns those trainers' collator pads.

Reads top to bottom: data and model (train/session.py) → rows to the trainer's columns → trainer
config → train → save.
"""

from __future__ import annotations

import random
from typing import Any

from tuitune.data.loader import DataError
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.runs.store import RunDir
from tuitune.train import session as stage
from tuitune.train.dpo import encode_pairs, reference_model
from tuitune.train.trainer_args import common_args, lora_config
from tuitune.train.trainer_base import trainer_class


def train_preference(run: RunDir, preset: Preset, events: EventWriter) -> str:
    """Train (or resume) a ``kto``, ``orpo`` or ``simpo`` run; returns ``done`` or ``stopped``."""
    kto = preset.train.stage == "kto"  # its batch of 2 or more rows: checked by the preset schema

    def encode(tokenizer: Any, train: list[dict], val: list[dict]) -> tuple[Any, Any]:
        if kto:
            return unpaired_rows(train, preset, "train"), unpaired_rows(val, preset, "validation") if val else None
        train_ds = _pair_columns(encode_pairs(tokenizer, train, preset, events, "train"))
        val_ds = _pair_columns(encode_pairs(tokenizer, val, preset, events, "validation")) if val else None
        return train_ds, val_ds

    session = stage.start(run, preset, events, encode)
    build = _kto_trainer if kto else _paired_trainer
    return stage.finish(session, build(session))


def unpaired_rows(rows: list[dict], preset: Preset, split: str) -> Any:
    """KTO's rows: a conversational prompt, the answer, and its label. A pair gives two rows,
    its chosen answer good and its rejected one bad; the rows are then interleaved by kind."""
    from datasets import Dataset

    out = []
    for row in rows:
        if "chosen" in row:
            out.append({"prompt": row["prompt"], "completion": row["chosen"], "label": True})
            out.append({"prompt": row["prompt"], "completion": row["rejected"], "label": False})
            continue
        messages = row["messages"]
        # the answer: the assistant turns after the last turn of anyone else
        cut = next((i + 1 for i in range(len(messages) - 1, -1, -1) if messages[i]["role"] != "assistant"), 0)
        if cut == 0 or cut == len(messages):
            raise DataError(f"{preset.data.path}: a {split} row has no prompt before its answer, or no answer "
                            "(KTO needs a conversation ending in the assistant's answer)")
        out.append({"prompt": messages[:cut], "completion": messages[cut:], "label": bool(row["label"])})
    if split == "train" and len({r["label"] for r in out}) < 2:
        which = "good" if out and out[0]["label"] else "bad"
        raise DataError(f"{preset.data.path}: every training answer is marked {which}; KTO learns from both kinds "
                        "(`label` true and false), add answers of the other kind")
    return Dataset.from_list(interleave(out, preset.train.seed))


def interleave(rows: list[dict], seed: int) -> list[dict]:
    """The good and the bad rows, each shuffled (seeded), then merged in proportion: KTO samples
    in order, and a batch needs both kinds for its margin and its KL estimate (each row's KL
    completion is its neighbour's answer, which is then rarely the other answer to its prompt).
    Taken at random, batches of one kind are common (a 2:1 set in batches of 4: one in five)."""
    rng = random.Random(seed)
    good, bad = [r for r in rows if r["label"]], [r for r in rows if not r["label"]]
    rng.shuffle(good)
    rng.shuffle(bad)
    out, g, b = [], 0, 0
    while g < len(good) or b < len(bad):
        # the class whose share so far is furthest below its share of the whole goes next
        if b >= len(bad) or (g < len(good) and g * len(bad) <= b * len(good)):
            out.append(good[g])
            g += 1
        else:
            out.append(bad[b])
            b += 1
    return out


def _pair_columns(pairs: Any) -> Any:
    """DPO's token ids (prompt_ids / chosen_ids / rejected_ids) as the columns ORPO's and CPO's
    collator pads: each answer's sequence is prompt + answer, its labels -100 over the prompt."""

    def columns(row: dict) -> dict:
        prompt = row["prompt_ids"]
        out = {"prompt_input_ids": prompt, "prompt_attention_mask": [1] * len(prompt)}
        for name in ("chosen", "rejected"):
            ids = prompt + row[f"{name}_ids"]
            out[f"{name}_input_ids"] = ids
            out[f"{name}_attention_mask"] = [1] * len(ids)
            out[f"{name}_labels"] = [-100] * len(prompt) + row[f"{name}_ids"]
        return out

    return pairs.map(columns, remove_columns=pairs.column_names)


def _kto_trainer(s: stage.Session) -> Any:
    from trl import KTOConfig, KTOTrainer

    d = s.preset.dpo
    config = KTOConfig(
        **common_args(s.run, s.preset, s.hw, s.val_ds is not None),
        beta=d.beta,
        desirable_weight=d.desirable_weight or 1.0,
        undesirable_weight=d.undesirable_weight or 1.0,
        precompute_ref_log_probs=d.precompute_ref,
    )
    peft_config = lora_config(s.preset, s.hw)
    return trainer_class(KTOTrainer)(
        model=s.model, ref_model=reference_model(s, peft_config), args=config, train_dataset=s.train_ds,
        eval_dataset=s.val_ds, processing_class=s.tokenizer, peft_config=peft_config, callbacks=s.callbacks(),
    )


def _paired_trainer(s: stage.Session) -> Any:
    """ORPO, or SimPO through CPO; neither has a reference model."""
    from trl.experimental.cpo import CPOConfig, CPOTrainer
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    d = s.preset.dpo
    args = common_args(s.run, s.preset, s.hw, s.val_ds is not None)
    if s.preset.train.stage == "orpo":
        base, config = ORPOTrainer, ORPOConfig(**args, beta=d.beta)
    else:
        base, config = CPOTrainer, CPOConfig(**args, loss_type="simpo", beta=d.beta, simpo_gamma=d.simpo_gamma,
                                              cpo_alpha=d.cpo_alpha)

    class Pretokenized(base):  # type: ignore[misc, valid-type]
        """Takes the rows already tokenized (_pair_columns): these trainers tokenize in their
        constructor, with their own limits and an end token added after the template's."""

        def tokenize_row(self, feature: dict, model: Any = None) -> dict:
            return feature

    return trainer_class(Pretokenized)(
        model=s.model, args=config, train_dataset=s.train_ds, eval_dataset=s.val_ds, processing_class=s.tokenizer,
        peft_config=lora_config(s.preset, s.hw), callbacks=s.callbacks(),
    )
