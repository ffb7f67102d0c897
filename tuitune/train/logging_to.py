"""``[train] report_to``: transformers' own integrations log the metrics too, with their files
inside the run directory (the worker writes only there). transformers 5 takes TensorBoard's
folder from ``TENSORBOARD_LOGGING_DIR`` (``logging_dir`` is gone from TrainingArguments)."""

from __future__ import annotations

import os

from tuitune.preset import Preset
from tuitune.runs.store import RunDir

TENSORBOARD_DIR = "tensorboard"


def prepare(run: RunDir, preset: Preset) -> None:
    targets = preset.train.report_to
    if "tensorboard" in targets:
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(run.path / TENSORBOARD_DIR)
    if "wandb" in targets:
        os.environ.setdefault("WANDB_DIR", str(run.path))
        os.environ.setdefault("WANDB_NAME", run.id)
    if "trackio" in targets:
        os.environ.setdefault("TRACKIO_PROJECT", "tuitune")
        os.environ.setdefault("TRACKIO_NAME", run.id)
