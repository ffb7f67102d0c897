"""What every tuitune trainer (SFT, DPO) shares on top of TRL's: checkpoints that appear whole
or not at all, a clear error when one cannot be written, and the test-only fault hooks.

Use it as ``trainer_class(SFTTrainer)(...)``.

Why a subclass: transformers' ``Trainer._save_checkpoint`` writes ``checkpoint-N/`` in place, file
by file, and resume takes the highest-numbered folder. A kill or a full disk halfway leaves a
folder that looks like a checkpoint and is not. Here the whole save goes to
``checkpoints/.staging/checkpoint-N``; once it returned, the files are fsynced, our completeness
marker is added, and the folder is renamed into place — an atomic step on one filesystem. Only
then are old checkpoints rotated away, so the previous checkpoint survives any failed save.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import rotate_checkpoints

from tuitune.runs import faults
from tuitune.runs.checkpoints import STAGING, CheckpointSaveError, fsync_dir, fsync_tree, latest_checkpoint, mark_complete
from tuitune.train.ranks import barrier

if TYPE_CHECKING:  # the mixin's super() is transformers' Trainer
    from transformers import Trainer as _TrainerBase
else:
    _TrainerBase = object


class AtomicCheckpoints(_TrainerBase):
    """Mixin for a transformers ``Trainer``: stage, fsync, mark and rename each checkpoint."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        root = Path(self.args.output_dir)
        # A save killed halfway leaves its staging folder behind; it was never a checkpoint.
        shutil.rmtree(root / STAGING, ignore_errors=True)
        if faults.active("oom") is not None:
            self.add_callback(_OomFault())
        # The peak-memory callback wants the largest micro-batch; callbacks never see the inputs.
        self._batch_watch = next((cb for cb in self.callback_handler.callbacks if hasattr(cb, "saw_batch")), None)

    def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        ids = inputs.get("input_ids") if isinstance(inputs, Mapping) else None
        if self._batch_watch is not None and ids is not None:
            self._batch_watch.saw_batch(int(ids.numel()))  # shape metadata: no device sync
        return super().training_step(model, inputs, *args, **kwargs)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        # Several processes: each rank writes its part (its RNG state; its shard under FSDP) into
        # the same staging folder; rank 0 alone clears it first and, once all have written,
        # marks and renames it.
        main = self.is_world_process_zero()
        root = Path(self.args.output_dir)
        name = f"checkpoint-{self.state.global_step}"
        staging = root / STAGING
        if main:
            shutil.rmtree(staging, ignore_errors=True)
        barrier()
        self.args.output_dir = str(staging)
        try:
            super()._save_checkpoint(model, trial)
            barrier()
            staged = staging / name
            if main:
                self._point_best_at_final_folder(root, staged)
                mark_complete(staged, self.state.global_step)
                fsync_tree(staged)
        except Exception as e:  # noqa: BLE001 - not only OSError: `tokenizers` reports a full disk as a bare Exception
            shutil.rmtree(staging, ignore_errors=True)  # frees the space a failed save took
            raise CheckpointSaveError(_explain_save_error(root, name, e)) from e
        finally:
            self.args.output_dir = str(root)
        if not main:
            barrier()  # the checkpoint is in place before any rank goes on
            return
        target = root / name
        if target.exists():  # saved again at the same step (a stop right after a periodic save)
            shutil.rmtree(target)
        os.replace(staged, target)
        fsync_dir(root)
        shutil.rmtree(staging, ignore_errors=True)
        rotate_checkpoints(
            output_dir=str(root), save_total_limit=self.args.save_total_limit,
            best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=False,
        )
        barrier()

    def _point_best_at_final_folder(self, root: Path, staged: Path) -> None:
        """The Trainer looks for the best checkpoint beside the one it saves — in staging — so its
        record would name a folder that is renamed away (or miss an older best one)."""
        best = self.state.best_global_step
        if not best:
            return
        final = root / f"checkpoint-{best}"
        if best == self.state.global_step or final.exists():
            self.state.best_model_checkpoint = str(final)
            self.state.save_to_json(str(staged / TRAINER_STATE_NAME))

    loraplus_ratio: float | None = None  # [lora] lora_plus_ratio, set by train/peft_methods.py

    def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
        if self.loraplus_ratio and getattr(self, "optimizer", None) is None:
            from tuitune.train.peft_methods import loraplus_optimizer

            self.optimizer = loraplus_optimizer(self.model, self.args, self.loraplus_ratio)
            return self.optimizer
        return super().create_optimizer(*args, **kwargs)

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        faults.during_save(self.state.global_step)
        super()._save_optimizer_and_scheduler(output_dir)


@cache
def trainer_class(base: type) -> type:
    """``base`` (e.g. TRL's SFTTrainer) with atomic checkpoints."""
    return type(f"Tuitune{base.__name__}", (AtomicCheckpoints, base), {})


def _explain_save_error(root: Path, name: str, error: Exception) -> str:
    previous = latest_checkpoint(root)
    kept = f"the previous checkpoint ({previous.name}) is intact" if previous else "no earlier checkpoint exists"
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(error) or "os error 28" in str(error):
        what = f"no space left on the disk holding {root}"
        todo = "free some space, then `tuitune runs resume` continues"
    elif isinstance(error, OSError):
        what = f"{error.strerror or error} ({error.filename or root})"
        todo = "fix that, then `tuitune runs resume` continues"
    else:
        what = f"{type(error).__name__}: {error}"
        todo = "fix that, then `tuitune runs resume` continues"
    return f"could not save {name}: {what}; {kept}. {todo[0].upper()}{todo[1:]} from the last checkpoint."


class _OomFault(TrainerCallback):
    """Test-only: out of memory at a chosen step (see faults.py)."""

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        text = faults.oom_at_step(state.global_step + 1, args.per_device_train_batch_size)
        if text is None:
            return
        if not args.use_cpu:
            raise torch.OutOfMemoryError(f"CUDA out of memory. {text}")
        raise MemoryError(text)
