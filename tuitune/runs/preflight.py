"""Checks a front makes before it starts a worker, so that bad input fails at once with exit
code 2 and no run directory, rather than minutes later in a worker. Light core."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuitune.data import shape as data_shape
from tuitune.data.loader import Imported, split
from tuitune.data.pipeline import check
from tuitune.data.split import val_fraction_for
from tuitune.hardware.model_shape import model_params
from tuitune.models.files import check_model_files, safety_warnings
from tuitune.models.ref import parse_model_ref, unbundle
from tuitune.preset import Preset
from tuitune.preset.guidance import DataFacts, Guidance, resolve
from tuitune.preset.methods import summary as method_summary
from tuitune.preset.schema import PREFERENCE_STAGES
from tuitune.runs.refs import pinned, readable_ref, result_kind, source_run


@dataclass
class Preflight:
    model: str  # what model.path resolves to
    data: Imported
    train_rows: int
    val_rows: int
    shape: dict[str, Any] = field(default_factory=dict)  # tuitune.data.shape.describe of the rows


def preflight(preset: Preset) -> Preflight:
    """Resolve the model reference and read the data; raises the user errors of each."""
    ref = parse_model_ref(preset.model.path)
    if ref.kind == "run":
        # Pin the full id: the run's config.toml then names exactly the run it started from.
        model = preset.model.path = pinned(ref)
    else:
        model = str(unbundle(ref))  # a bundled model that is not installed fails here
        check_model_files(model, preset.model.allow_pickle, preset.model.trust_remote_code)
    data = check(preset.data, preset.train.stage)
    # Counts before cleaning (but without deliberate repeats, which cleaning drops and the
    # guidance turns into epochs); the worker's cleaning report says what it dropped.
    if preset.train.stage == "cpt":  # whole documents held out (data/corpus.py)
        from tuitune.data.corpus import split_documents

        train, val = split_documents(data.examples, preset.data.val_fraction, preset.train.seed)
        return Preflight(model, data, len(train), len(val))
    shape = data_shape.describe(data.examples)
    rows = data_shape.distinct(data.examples) if shape["repeat_factor"] and preset.data.dedup_exact else data.examples
    fraction, _ = val_fraction_for(preset.data.val_fraction, len(rows), shape["knowledge_like"])
    train, val = split(rows, fraction, preset.train.seed,
                       group=data_shape.group_key if shape["knowledge_like"] and fraction > 0 else None)
    return Preflight(model, data, len(train), len(val), shape)


def guidance_for(preset: Preset, check: Preflight) -> tuple[Guidance, str]:
    """The guided defaults as the worker will most likely choose them (token counts estimated
    from characters; device and an `auto` method guessed without torch), and a note saying so."""
    device, method = preset.train.device, preset.train.method
    if device == "auto":
        from tuitune.hardware.plan import detect_gpu

        device = "cuda" if detect_gpu()[0] else "cpu"
    note = "token counts estimated from characters; the run stores the exact choices in guidance.json"
    if method == "auto":
        method = "lora"
        if device == "cuda":
            note += "; method auto: shown for LoRA, the worker asks the planner"
    facts = DataFacts.estimate(check.data.examples, check.train_rows, check.val_rows, preset.train.max_seq_len,
                               check.shape)
    return resolve(preset, facts, params=model_params(readable_ref(preset.model.path)), device=device, method=method), note


def describe(preset: Preset, check: Preflight, guidance: Guidance | None = None) -> list[str]:
    t = preset.train if guidance is None else guidance.apply(preset).train
    steps = f"{t.max_steps} steps" if t.max_steps else f"{t.epochs:g} epochs of {check.train_rows} rows"
    lr = f"{t.learning_rate:g}" if t.learning_rate is not None else "auto"
    lines = [
        f"model:  {check.model}{_started_from(check.model)}",
        f"data:   {Path(check.data.path)} ({check.data.format}): "
        f"{check.train_rows} train / {check.val_rows} validation {'documents' if t.stage == 'cpt' else 'rows'} "
        "before cleaning",
        f"train:  {t.stage}, method {t.method}, {steps}, batch {t.batch_size} x {t.grad_accum or 'auto'}, "
        f"lr {lr}, max_seq_len {t.max_seq_len}",
        *(f"warning: {w}" for w in safety_warnings(preset)),
    ]
    if t.method not in ("auto", "full", "lora", "qlora"):  # the methods of docs/methods.md, in a line
        lines.insert(3, f"method: {method_summary(t.method)}")
    if guidance is not None:
        lines.append("guided: " + guidance.summary)
        lines += [f"  {line}" for line in guidance.lines()[1:]]
        lines += [f"  warning: {w['message']}" for w in guidance.warnings]
    if t.stage in PREFERENCE_STAGES:
        resolved = preset if guidance is None else guidance.apply(preset)
        lines.append(f"{t.stage + ':':<8}" + (describe_dpo(resolved) if t.stage == "dpo" else describe_preference(resolved)))
    return lines


def describe_preference(preset: Preset) -> str:
    """The ``[dpo]`` settings a ``kto``, ``orpo`` or ``simpo`` run uses, in one line."""
    d, stage = preset.dpo, preset.train.stage

    def num(value: float | None) -> str:
        return f"{value:g}" if value is not None else "auto"

    if stage == "kto":
        return (f"beta {num(d.beta)}, desirable_weight {num(d.desirable_weight)}, undesirable_weight "
                f"{num(d.undesirable_weight)}; {_reference(preset)}")
    if stage == "orpo":
        return f"beta (lambda) {num(d.beta)}; no reference model"
    return f"beta {num(d.beta)}, simpo_gamma {num(d.simpo_gamma)}, cpo_alpha {d.cpo_alpha:g}; no reference model"


def describe_dpo(preset: Preset) -> str:
    d = preset.dpo
    limits = [f"prompt <= {d.max_prompt_len}" if d.max_prompt_len else "",
              f"answers <= {d.max_completion_len} tokens" if d.max_completion_len else ""]
    limits_text = ", ".join(x for x in limits if x)
    beta = f"{d.beta:g}" if d.beta is not None else "auto"
    return f"beta {beta}, loss {d.loss_type}" + (f", {limits_text}" if limits_text else "") + f"; {_reference(preset)}"


def _reference(preset: Preset) -> str:
    d, method = preset.dpo, preset.train.method
    if d.precompute_ref:
        reference = "reference log-probs precomputed before training"
    elif method == "full":
        reference = "reference: a frozen copy of the starting model"
    elif method == "auto":
        reference = "reference: the starting model (adapter off for LoRA/QLoRA, a frozen copy for full)"
    else:
        reference = "reference: the starting model, as the base with the adapter off (no copy)"
    return reference


def _started_from(model: str) -> str:
    if parse_model_ref(model).kind != "run":
        return ""
    run = source_run(model)
    if result_kind(run) == "model":
        return f" (its full fine-tune, {run.model})"
    return f" (its adapter merged into {run.preset().model.path})"
