"""Checks a front makes before it starts a worker, so that bad input fails at once with exit
code 2 and no run directory, rather than minutes later in a worker. Light core."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuitune.bundled import resolve_model
from tuitune.data.loader import Imported, split
from tuitune.data.pipeline import check
from tuitune.preset import Preset
from tuitune.run_ref import is_run_ref, pinned


@dataclass
class Preflight:
    model: str  # what model.path resolves to
    data: Imported
    train_rows: int
    val_rows: int


def preflight(preset: Preset) -> Preflight:
    """Resolve the model reference and read the data; raises the user errors of each."""
    model = preset.model.path
    if model.startswith("bundled:"):
        model = str(resolve_model(model))
    elif is_run_ref(model):
        # Pin the full id: the run's config.toml then names exactly the run it started from.
        model = preset.model.path = pinned(model)
    data = check(preset.data, preset.train.stage)
    # Counts before cleaning; the worker's cleaning report says what it dropped.
    train, val = split(data.examples, preset.data.val_fraction, preset.train.seed)
    return Preflight(model, data, len(train), len(val))


def describe(preset: Preset, check: Preflight) -> list[str]:
    t = preset.train
    steps = f"{t.max_steps} steps" if t.max_steps else f"{t.epochs:g} epochs of {check.train_rows} rows"
    lines = [
        f"model:  {check.model}{_started_from(check.model)}",
        f"data:   {Path(check.data.path)} ({check.data.format}): "
        f"{check.train_rows} train / {check.val_rows} validation rows before cleaning",
        f"train:  {t.stage}, method {t.method}, {steps}, batch {t.batch_size} x {t.grad_accum}, "
        f"lr {t.learning_rate:g}, max_seq_len {t.max_seq_len}",
    ]
    if t.stage == "dpo":
        lines.append("dpo:    " + describe_dpo(preset))
    return lines


def describe_dpo(preset: Preset) -> str:
    d, method = preset.dpo, preset.train.method
    if d.precompute_ref:
        reference = "reference log-probs precomputed before training"
    elif method == "full":
        reference = "reference: a frozen copy of the starting model"
    elif method == "auto":
        reference = "reference: the starting model (adapter off for LoRA/QLoRA, a frozen copy for full)"
    else:
        reference = "reference: the starting model, as the base with the adapter off (no copy)"
    limits = [f"prompt <= {d.max_prompt_len}" if d.max_prompt_len else "",
              f"answers <= {d.max_completion_len} tokens" if d.max_completion_len else ""]
    limits_text = ", ".join(x for x in limits if x)
    return f"beta {d.beta:g}, loss {d.loss_type}" + (f", {limits_text}" if limits_text else "") + f"; {reference}"


def _started_from(model: str) -> str:
    if not is_run_ref(model):
        return ""
    from tuitune.run_ref import result_kind, source_run

    run = source_run(model)
    if result_kind(run) == "model":
        return f" (its full fine-tune, {run.model})"
    return f" (its adapter merged into {run.preset().model.path})"
