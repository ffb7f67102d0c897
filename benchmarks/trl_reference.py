"""The benchmarks' reference arm: plain TRL + PEFT, no tuitune code, with settings set by hand."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def train_merged(model: Path, rows: list[dict[str, Any]], out: Path, settings: dict[str, Any],
                 **config: Any) -> dict[str, Any]:
    """LoRA (``settings``: r, alpha, epochs, learning_rate, batch, max_length) on all linear layers
    through TRL's SFTTrainer (``config``: more SFTConfig fields); the merged model and its tokenizer
    saved to ``out``. Returns the steps, the training wall time and the last logged loss."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(out.with_suffix(".trl")), num_train_epochs=settings["epochs"],
                     per_device_train_batch_size=settings["batch"], learning_rate=settings["learning_rate"],
                     max_length=settings["max_length"], save_strategy="no", report_to="none", bf16=False, seed=42,
                     **{"logging_steps": 2, **config})
    lora = LoraConfig(r=settings["r"], lora_alpha=settings["alpha"], lora_dropout=0.05, target_modules="all-linear",
                      task_type="CAUSAL_LM")
    start = time.monotonic()
    trainer = SFTTrainer(model=str(model), args=args, train_dataset=Dataset.from_list(rows), peft_config=lora)
    trainer.train()
    wall = time.monotonic() - start
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(out)
    trainer.processing_class.save_pretrained(out)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"steps": trainer.state.global_step, "wall_s": wall, "losses": losses[-1:]}
