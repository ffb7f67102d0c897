"""The worker's side of ``tuitune runs extend``: train to ``from_step + N`` from the final
checkpoint (weights, optimizer moments, step count), with a learning-rate schedule made afresh
for the N new steps: the preset's scheduler and peak rate, its warmup share of N.

Why not keep the old schedule: it ended at (or near) zero for a decaying scheduler, so more steps
on it would learn nothing; stretching it to the new total would jump the rate back up mid-curve
without a ramp. A short warmup brings the rate back from where it ended without a spike (Adam's
moments are kept, so it can stay short), and the decay ends the extension at the same low rate as
the run's first schedule did, which is where the weights settle. (docs/experiments.md)
"""

from __future__ import annotations

import functools
import math
from typing import Any

from transformers import TrainerCallback

from tuitune.preset import Preset
from tuitune.runs import extend
from tuitune.runs.store import RunDir


def apply(run: RunDir, preset: Preset, train_rows: int) -> tuple[Preset, dict[str, Any] | None]:
    """The preset with ``train.max_steps`` at the extension's end, and the extension (None: none asked)."""
    ask = extend.read(run)
    if ask is None:
        return preset, None
    t = preset.train
    added = extend.added_steps(ask, train_rows, t.batch_size, t.grad_accum or 1)
    ratio = t.warmup_ratio or 0.0
    warmup = math.ceil(ratio * added) if ratio < 1 else int(ratio)
    preset = preset.model_copy(deep=True)
    preset.train.max_steps = ask["from_step"] + added
    return preset, {**ask, "added": added, "to_step": ask["from_step"] + added, "warmup_steps": warmup}


def _shifted(shape: Any, offset: int, step: int) -> float:
    return float(shape(max(0, step - offset)))


def install(trainer: Any, ext: dict[str, Any]) -> None:
    """Give ``trainer`` the extension's schedule: the fresh one, shifted to start at ``from_step``."""
    offset, added = int(ext["from_step"]), int(ext["added"])

    def create_scheduler(num_training_steps: int, optimizer: Any = None) -> Any:
        if trainer.lr_scheduler is None:
            from torch.optim.lr_scheduler import LambdaLR
            from transformers import get_scheduler

            optimizer = optimizer or trainer.optimizer
            fresh = get_scheduler(trainer.args.lr_scheduler_type, optimizer, num_warmup_steps=ext["warmup_steps"],
                                  num_training_steps=added,
                                  scheduler_specific_kwargs=trainer.args.lr_scheduler_kwargs or {})
            shapes = getattr(fresh, "lr_lambdas", None)
            trainer.lr_scheduler = fresh if shapes is None else LambdaLR(
                optimizer, [functools.partial(_shifted, shape, offset) for shape in shapes])
            trainer._created_lr_scheduler = True  # as transformers' own create_scheduler says it did
        return trainer.lr_scheduler

    trainer.create_scheduler = create_scheduler
    trainer.add_callback(_RateAtResume())


class _RateAtResume(TrainerCallback):
    """The optimizer state loaded from the checkpoint carries the old schedule's last rate; the
    first new step must use the new schedule's, so it is set once training (re)starts."""

    def on_train_begin(self, args: Any, state: Any, control: Any, lr_scheduler: Any = None, optimizer: Any = None,
                       **kwargs: Any) -> None:
        shapes = getattr(lr_scheduler, "lr_lambdas", None)
        if optimizer is None or shapes is None:
            return
        rates = [base * shape(state.global_step) for base, shape in zip(lr_scheduler.base_lrs, shapes, strict=True)]
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
        lr_scheduler._last_lr = rates
