"""The worker's side of guided defaults: resolve the preset's `auto` keys with the exact token
counts, store the result in the run (``guidance.json``), and check the labels before training.

A resumed run reuses its ``guidance.json``, so batch, steps and cadence never change under a
checkpoint.
"""

from __future__ import annotations

import json
from typing import Any

from tuitune.data.schema import DataError
from tuitune.events import EventWriter
from tuitune.hardware.model_shape import model_params
from tuitune.paths import atomic_write_text
from tuitune.preset import Preset
from tuitune.preset.guidance import DataFacts, Guidance, resolve
from tuitune.runs.refs import readable_ref
from tuitune.runs.store import RunDir

MASKED_WARN = 0.1  # warn when more than this share of rows has no trained token


def guide(run: RunDir, preset: Preset, report: dict[str, Any], device: str, method: str,
          events: EventWriter) -> tuple[Preset, Guidance]:
    """The preset with every guided key filled in, and the guidance (stored and announced)."""
    path = run.path / "guidance.json"
    if path.exists():
        guidance = Guidance.from_json(json.loads(path.read_text(encoding="utf-8")))
        return _with_run_changes(run, guidance.apply(preset)), guidance
    guidance = resolve(preset, DataFacts.from_report(report), params=model_params(readable_ref(preset.model.path)),
                       device=device, method=method)
    atomic_write_text(path, json.dumps(guidance.to_json(), indent=2) + "\n")
    events.emit("guidance", summary=guidance.summary, total_steps=guidance.total_steps,
                choices={k: {"value": c.value, "reason": c.reason, "auto": c.auto} for k, c in guidance.choices.items()})
    for w in guidance.warnings:
        events.emit("warning", source="coach", **w)
    return _with_run_changes(run, guidance.apply(preset)), guidance


def effective(run: RunDir, preset: Preset) -> Preset:
    """The settings the run trains with now: its stored guidance, then changes made during it."""
    path = run.path / "guidance.json"
    if path.exists():
        preset = Guidance.from_json(json.loads(path.read_text(encoding="utf-8"))).apply(preset)
    return _with_run_changes(run, preset)


def _with_run_changes(run: RunDir, preset: Preset) -> Preset:
    # An out-of-memory retry halved the batching: it wins over the preset and the guidance, also
    # across resumes.
    state = run.read_state()
    if state.batch_size:
        preset = preset.model_copy(deep=True)
        preset.train.batch_size, preset.train.grad_accum = state.batch_size, state.grad_accum
    return preset


def check_labels(labels: list[list[int]], max_seq_len: int, events: EventWriter) -> None:
    """Warn when rows train no token within ``max_seq_len``; fail when none does (nothing to learn)."""
    if not labels:
        return
    empty = sum(not any(x != -100 for x in row[:max_seq_len]) for row in labels)
    if empty == len(labels):
        message = (f"all {len(labels)} training rows have every label masked within train.max_seq_len "
                   f"({max_seq_len}): there is nothing to learn. Raise train.max_seq_len if the prompts are long, "
                   "check that the rows end with an assistant answer, or set train.assistant_only_loss = false")
        events.emit("warning", source="coach", code="labels_masked", message=message, sync=True)
        raise DataError(message)
    if empty / len(labels) > MASKED_WARN:
        events.emit("warning", source="coach", code="labels_masked",
                    message=f"{empty} of {len(labels)} training rows train no token (their answers start after "
                            f"train.max_seq_len = {max_seq_len}); raise max_seq_len or drop them with data.max_tokens")
