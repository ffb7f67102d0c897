"""``model.path = "run:<id>"``: start a run from an earlier run's result (SFT, then DPO).

A full fine-tune's result is its ``model/`` folder. A LoRA/QLoRA run's result is its adapter on
its own base; training on top of it starts from the two merged into one 16-bit model (see
docs/dpo.md for why merging rather than training the same adapter on). The merge itself is heavy
and lives in :mod:`tuitune.weights.run_source`; this module only finds the run. Light core.
"""

from __future__ import annotations

from tuitune.preset import RUN_PREFIX
from tuitune.runs.store import RunDir, RunStoreError, find_run, runs_root


def is_run_ref(ref: str) -> bool:
    return ref.startswith(RUN_PREFIX)


def source_run(ref: str) -> RunDir:
    """The finished run ``run:<id>`` names (id, unique prefix or suffix, or its folder)."""
    wanted = ref[len(RUN_PREFIX):].strip()
    if not wanted:
        raise RunStoreError("model.path 'run:': name a run after the colon, e.g. run:20250101-120000-sft-ab12 "
                            "(`tuitune runs list` shows them)")
    try:
        run = find_run(wanted)
    except RunStoreError as e:
        raise RunStoreError(f"model.path {ref!r}: {e}") from None
    if result_kind(run) is None:
        raise RunStoreError(
            f"model.path {ref!r}: run {run.id} has no trained result yet (status {run.status()}); "
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


def pinned(ref: str) -> str:
    """``run:<full id>`` (``run:<folder>`` for a run outside the runs folder): what a resolved
    preset records, so a rerun names the same run."""
    run = source_run(ref)
    if run.path.parent == runs_root().resolve():
        return RUN_PREFIX + run.id
    return RUN_PREFIX + str(run.path)


def shape_ref(ref: str) -> str:
    """A reference the planner can read the model's shape from (merging changes no shape)."""
    run = source_run(ref)
    if result_kind(run) == "model":
        return str(run.model)
    return run.preset().model.path
