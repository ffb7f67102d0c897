"""``model.path = "run:<id>"``: start a run from an earlier run's result (SFT, then DPO).

A full fine-tune's result is its ``model/`` folder. A LoRA/QLoRA run's result is its adapter on
its own base; training on top of it starts from the two merged into one 16-bit model (see
docs/dpo.md for why merging rather than training the same adapter on). The merge itself is heavy
and lives in :mod:`tuitune.weights.run_source`; this module only finds the run. Light: no torch.
"""

from __future__ import annotations

from tuitune.models.ref import RUN_PREFIX, ModelRef, ModelRefError, parse_model_ref
from tuitune.runs.store import RunDir, RunStoreError, find_run, runs_root


def source_run(ref: str | ModelRef) -> RunDir:
    """The finished run ``run:<id>`` names (id, unique prefix or suffix, or its folder)."""
    try:
        model = parse_model_ref(ref)
    except ModelRefError as e:
        raise RunStoreError(f"model.path {e}") from None
    if model.kind != "run":
        raise RunStoreError(f"model.path {model.text!r} is not a {RUN_PREFIX}<id> reference")
    try:
        run = find_run(model.value, to_read=True)  # only its weights are read
    except RunStoreError as e:
        raise RunStoreError(f"model.path {model.text!r}: {e}") from None
    if result_kind(run) is None:
        raise RunStoreError(
            f"model.path {model.text!r}: run {run.id} has no trained result yet (status {run.status()}); "
            f"finish it first (`tuitune runs resume {run.id}`)"
        )
    return run


def result_kind(run: RunDir) -> str | None:
    """``model`` (a full fine-tune), ``adapter`` (LoRA/QLoRA), or None when the run has neither."""
    if (run.model / "config.json").exists():
        return "model"
    if (run.adapter / "adapter_config.json").exists():
        return "adapter"
    return None


def pinned(ref: str | ModelRef) -> str:
    """``run:<full id>`` (``run:<folder>`` for a run outside the runs folder): what a resolved
    preset records, so a rerun names the same run."""
    run = source_run(ref)
    if run.path.parent == runs_root().resolve():
        return RUN_PREFIX + run.id
    return RUN_PREFIX + str(run.path)


def readable_ref(ref: str | ModelRef) -> ModelRef:
    """``ref`` as the light readers (the planner's model shape, the torch-free tokenizer) can take
    it, without merging anything: a full fine-tune reads as its model folder; a LoRA/QLoRA run as
    what it started from, since an adapter changes neither the shape nor the tokenizer. Any other
    reference comes back parsed, as it is. Raises :class:`RunStoreError` for a run it cannot use."""
    model = parse_model_ref(ref)
    seen: set[str] = set()
    while model.kind == "run":
        run = source_run(model)
        if run.id in seen:  # only a hand-edited config.toml can do this, but it must not hang
            raise RunStoreError(f"model.path {model.text!r}: run {run.id} starts from itself")
        seen.add(run.id)
        if result_kind(run) == "model":
            return parse_model_ref(str(run.model))
        model = parse_model_ref(run.preset().model.path)
    return model
