"""What every training stage does around its trainer: data → tokenizer and model → (the stage
builds its trainer) → train or resume → save. SFT and DPO differ only in how rows become token
ids and which TRL trainer runs them; the rest is here, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from tuitune.checkpoints import checkpoint_step, latest_checkpoint
from tuitune.data.pipeline import prepare
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.run_store import RunDir, tuitune_home
from tuitune.train.callbacks import EventCallback, StopCallback, stop_requested
from tuitune.train.model_loading import Hardware, ModelSource, choose_hardware, load_model, load_tokenizer, model_source

# (tokenizer, train rows, validation rows) -> (train dataset, validation dataset or None)
Encoder = Callable[[Any, list[dict], list[dict]], tuple[Any, Any]]


@dataclass
class Session:
    run: RunDir
    preset: Preset
    events: EventWriter
    source: ModelSource
    tokenizer: Any
    hw: Hardware
    model: Any
    train_ds: Any
    val_ds: Any
    resume_from: Any  # Path of the checkpoint to resume from, or None

    def callbacks(self) -> list[Any]:
        return [EventCallback(self.run, self.events), StopCallback(self.run)]


def start(run: RunDir, preset: Preset, events: EventWriter, encode: Encoder) -> Session:
    """Prepare the data, encode it, load the model; everything up to building the trainer."""
    source = model_source(preset.model.path)
    trust = preset.model.trust_remote_code
    tokenizer = load_tokenizer(source, trust)
    train, val, report = prepare(
        preset.data, run.data_dir, tokenizer, seed=preset.train.seed, max_seq_len=preset.train.max_seq_len,
        stage=preset.train.stage, cache_dir=tuitune_home() / "cache" / "data",
    )
    events.emit(
        "data", path=report["source"], format=report["format"], train_rows=len(train),
        val_rows=len(val), rejected=report["rejected"], steps=report["steps"],
        tokens=report["stats"].get("tokens"),
    )
    train_ds, val_ds = encode(tokenizer, train, val)

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
        stage=preset.train.stage,
    )
    model = load_model(source, hw, trust)
    run.update_state(method=hw.method, device=hw.device)

    resume_from = latest_checkpoint(run.checkpoints)
    if resume_from is not None:
        events.emit("status", status="resuming", checkpoint=str(resume_from), step=checkpoint_step(resume_from))
    return Session(run, preset, events, source, tokenizer, hw, model, train_ds, val_ds, resume_from)


def finish(session: Session, trainer: Any) -> str:
    """Train (or resume) to the end; returns ``done``, or ``stopped`` when a stop was asked for."""
    if stop_requested.is_set():
        return "stopped"
    resume = session.resume_from
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if stop_requested.is_set() and trainer.state.global_step < trainer.state.max_steps:
        return "stopped"

    full = session.hw.method == "full"
    out = session.run.model if full else session.run.adapter
    trainer.save_model(str(out))
    session.tokenizer.save_pretrained(str(out))
    session.events.emit("saved", path=str(out), kind="model" if full else "adapter", sync=True)
    return "done"
