"""What every training stage does around its trainer: data → tokenizer and model → (the stage
builds its trainer) → train or resume → save. SFT and DPO differ only in how rows become token
ids and which TRL trainer runs them; the rest is here, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuitune.data.pipeline import prepare
from tuitune.events import EventWriter
from tuitune.paths import cache_dir
from tuitune.preset import Preset
from tuitune.preset.guidance import Guidance
from tuitune.preset.methods import writes_model
from tuitune.runs.checkpoints import checkpoint_step, latest_checkpoint
from tuitune.runs.store import RunDir
from tuitune.train import ranks
from tuitune.train.callbacks import EventCallback, StopCallback, stop_requested
from tuitune.train.guided import guide
from tuitune.train.peft_methods import save_result
from tuitune.train.probes import ProbeCallback, probe_prompts
from tuitune.train.speed import Available, choose_attention, peak_memory_callback
from tuitune.weights.loading import Hardware, ModelSource, choose_hardware, load_model, load_tokenizer, model_source

# (tokenizer, train rows, validation rows) -> (train dataset, validation dataset or None)
Encoder = Callable[[Any, list[dict], list[dict]], tuple[Any, Any]]
# (run, events, tokenizer, preset, train rows, validation rows) -> the probes callback, for a
# stage whose rows are no conversations (continued pretraining's documents)
ProbeMaker = Callable[[RunDir, EventWriter, Any, Preset, list[dict], list[dict]], ProbeCallback]


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
    guidance: Guidance
    probes: ProbeCallback
    early: bool  # early stopping on: keep the best checkpoint
    available: Available  # the speed-ups installed here (train/speed.py)
    attention: tuple[str | None, str]  # the attention asked for, and why
    memory: Any = None  # the peak-memory callback, read after training for the calibration
    coach: Any = None  # the coach's callback: its losses judge "not learned yet" at the end
    extension: dict[str, Any] | None = None  # `tuitune runs extend`: the steps added (train/extend_schedule.py)

    def callbacks(self) -> list[Any]:
        from tuitune.train.sweep_trial import sweep_callbacks

        self.memory = peak_memory_callback(self.events)
        return [EventCallback(self.run, self.events), StopCallback(self.run), self.probes,
                *coach_callbacks(self), self.memory, *sweep_callbacks(self.run, self.events)]


def start(run: RunDir, preset: Preset, events: EventWriter, encode: Encoder,
          make_probes: ProbeMaker | None = None) -> Session:
    """Prepare the data, encode it, load the model; everything up to building the trainer."""
    # Several processes: rank 0 cleans the data and chooses the guided settings first, the
    # others then find them (the data cache, guidance.json) instead of racing to write them.
    ranks.others_wait()
    source = model_source(preset.model.path)
    trust = preset.model.trust_remote_code
    tokenizer = load_tokenizer(source, trust)
    train, val, report = prepare(
        preset.data, run.data_dir, tokenizer, seed=preset.train.seed, max_seq_len=preset.train.max_seq_len,
        stage=preset.train.stage, cache_dir=cache_dir("data"),
    )
    events.emit(
        "data", path=report["source"], format=report["format"], train_rows=len(train),
        val_rows=len(val), rejected=report["rejected"], steps=report["steps"],
        tokens=report["stats"].get("tokens"),
    )
    train_ds, val_ds = encode(tokenizer, train, val)

    hw = choose_hardware(preset, source, tokens=report["stats"].get("tokens"))
    preset, guidance = guide(run, preset, report, hw.device, hw.method, events)
    from tuitune.train import extend_schedule, logging_to

    preset, extension = extend_schedule.apply(run, preset, len(train))
    logging_to.prepare(run, preset)
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
    ranks.main_done()
    available = Available.detect()
    attention = choose_attention(preset.train, device=hw.device, precision=hw.precision, available=available)
    model = load_model(source, hw, trust, allow_pickle=preset.model.allow_pickle, attn_implementation=attention[0])
    run.update_state(method=hw.method, device=hw.device)

    resume_from = latest_checkpoint(run.checkpoints)
    if resume_from is not None:
        events.emit("status", status="resuming", checkpoint=str(resume_from), step=checkpoint_step(resume_from))
    if make_probes is not None and ranks.probes_here():
        probes = make_probes(run, events, tokenizer, preset, train, val)
    else:
        prompts = probe_prompts(preset.eval.probes, preset.data.system_prompt, _conversations(val),
                                _conversations(train), preset.eval.probe_count or 0) if ranks.probes_here() else []
        probes = ProbeCallback(run, events, tokenizer, prompts, preset.eval.probe_tokens)
    early = bool(preset.eval.early_stopping) and val_ds is not None
    return Session(run, preset, events, source, tokenizer, hw, model, train_ds, val_ds, resume_from,
                   guidance, probes, early, available, attention, extension=extension)


def _conversations(rows: list[dict]) -> list[list[dict]]:
    """Rows as conversations ending in an answer: SFT's as they are, a pair's prompt + chosen."""
    return [r["messages"] if "messages" in r else r["prompt"] + r["chosen"] for r in rows]


def coach_callbacks(s: Session) -> list[Any]:
    from tuitune.preset.guidance import learning_rate
    from tuitune.train.coach import CoachCallback

    usual, _ = learning_rate(s.hw.method, s.guidance.facts.get("params"), s.preset.train.stage)
    rate = s.preset.train.learning_rate
    assert rate is not None  # guided before any trainer is built
    s.coach = CoachCallback(s.events, rate, usual, s.early)
    callbacks = [s.coach]
    if s.preset.eval.plateau_stop is True and not s.early:
        from tuitune.train.plateau import PlateauStopCallback

        callbacks.append(PlateauStopCallback(s.events))
    if s.early:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=s.preset.eval.patience))
    return callbacks


def finish(session: Session, trainer: Any) -> str:
    """Train (or resume) to the end; returns ``done``, or ``stopped`` when a stop was asked for."""
    if stop_requested.is_set():
        return "stopped"
    resume = session.resume_from
    if session.extension is not None:
        from tuitune.train.extend_schedule import install

        install(trainer, session.extension)
        session.events.emit("extend", sync=True, **{k: session.extension[k] for k in
                                                     ("from_step", "to_step", "added", "warmup_steps")})
    from tuitune.train.energy import sampling

    with sampling(session.hw.device, session.events):
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    record_calibration(session)
    if stop_requested.is_set() and trainer.state.global_step < trainer.state.max_steps:
        return "stopped"

    weights = weights_used(trainer.state, session.early)
    session.run.update_state(weights=weights)
    full = writes_model(session.hw.method)
    out = session.run.model if full else session.run.adapter
    ranks.prepare_final_save(trainer)  # FSDP: the full state dict, which the export merges from
    save_result(trainer, out, session.run.checkpoints, session.preset, session.hw)
    if ranks.is_main():
        session.tokenizer.save_pretrained(str(out))
    session.events.emit("saved", path=str(out), kind="model" if full else "adapter", sync=True, weights=weights)
    session.probes.finish(trainer.model, weights["step"], weights["text"])
    warn_not_learned(session, weights["step"])
    return "done"


def warn_not_learned(s: Session, step: int) -> None:
    """The coach's last word: ``not_learned`` when the answers' loss is still high or the probes
    answer as the base did (tuitune.train.coach.not_learned)."""
    from tuitune.preset.guidance import learning_rate
    from tuitune.train.coach import not_learned

    if s.coach is None:
        return
    samples = s.probes.samples() or {}
    usual, _ = learning_rate(s.hw.method, s.guidance.facts.get("params"), s.preset.train.stage)
    message = not_learned(s.coach.losses, knowledge_like=bool(s.guidance.facts.get("knowledge_like")),
                          base=samples.get("base"), tuned=samples.get("tuned"),
                          learning_rate=s.preset.train.learning_rate, usual_lr=usual)
    if message:
        s.coach.warn("not_learned", step, message)


def record_calibration(s: Session) -> dict | None:
    """On a CUDA run, add what it measured against what the planner predicts for it to
    ``$TUITUNE_HOME/calibration/runs.jsonl`` (hardware/calibration.py), for later plans on this
    card. Best effort: a failure here is a warning, never the run's failure."""
    measured = s.memory.measured if s.memory is not None else None
    if s.hw.device != "cuda" or not measured or ranks.world_size() > 1:  # calibrated for one process
        return None  # the CPU has no card to calibrate, and no CUDA counters
    try:
        from tuitune.events import iter_type, read_events
        from tuitune.hardware.calibration import record_run
        from tuitune.hardware.model_shape import load_shape
        from tuitune.runs.refs import readable_ref
        from tuitune.weights.loading import cuda_gpu_name

        preset = s.preset.model_copy(deep=True)  # as the worker resolved its `auto`s
        preset.train = preset.train.model_copy(update={"method": s.hw.method, "precision": s.hw.precision,
                                                       "gradient_checkpointing": s.hw.gradient_checkpointing})
        speed = list(iter_type(read_events(s.run.events), "speed"))
        shape = load_shape(readable_ref(preset.model.path))
        return record_run(preset, measured, cuda_gpu_name(), shape, run_id=s.run.id, bf16=s.hw.precision == "bf16",
                          speed=speed[-1] if speed else None)
    except Exception as e:  # noqa: BLE001 - the calibration must never fail a run that trained
        s.events.emit("warning", source="planner", code="calibration",
                      message=f"this run's memory was not added to the planner's calibration: {type(e).__name__}: {e}")
        return None


def weights_used(state: Any, early: bool) -> dict[str, Any]:
    """Which weights are saved: the best checkpoint (early stopping on) or the last step."""
    last = state.global_step
    if early and state.best_model_checkpoint:
        step = checkpoint_step(Path(state.best_model_checkpoint))
        stopped = f", stopped early at step {last} of {state.max_steps}" if last < state.max_steps else ""
        text = (f"best checkpoint: step {step} (validation loss {state.best_metric:.4f}) of {last} steps{stopped}")
        return {"used": "best", "step": step, "eval_loss": state.best_metric, "last_step": last, "text": text}
    return {"used": "last", "step": last, "last_step": last, "text": f"last step: {last}"}
