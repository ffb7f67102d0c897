"""The weights a ``run:<id>`` model reference starts from (heavy: may merge an adapter).

A full fine-tune is used as it is. A LoRA/QLoRA result is merged into its base once, with the
export's merge, into ``$TUITUNE_HOME/cache/merged/<run-id>/`` (a finished run's adapter never
changes, so the merge is reused by every later run, export and chat that starts from it). The
folder is written under a temporary name and renamed: a crash never leaves a half merge in use.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tuitune.models.ref import ModelRef
from tuitune.paths import cache_dir
from tuitune.runs.refs import result_kind, source_run

MARKER = "tuitune-merge.json"  # written last by export.merge.merge


def run_model_path(ref: str | ModelRef) -> Path:
    run = source_run(ref)
    if result_kind(run) == "model":
        return run.model
    cache = cache_dir("merged", run.id)
    if (cache / MARKER).exists():
        return cache
    from tuitune.weights.merge import merge

    tmp = cache.with_name(f"{cache.name}.tmp-{os.getpid()}")
    merge(run, tmp)
    if (cache / MARKER).exists():  # another process finished the same merge first
        shutil.rmtree(tmp, ignore_errors=True)
        return cache
    shutil.rmtree(cache, ignore_errors=True)  # a leftover without its marker
    os.replace(tmp, cache)
    return cache
