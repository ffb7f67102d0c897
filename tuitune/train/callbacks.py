"""Trainer callbacks: the worker's voice. They turn the trainer's progress into events and
state, mark finished checkpoints, and stop training cleanly when asked to.

They only read values the trainer already logged (no extra host syncs).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from tuitune.events import EventWriter
from tuitune.runs.checkpoints import mark_complete
from tuitune.runs.eta import EtaClock
from tuitune.runs.store import RunDir
from tuitune.train.ranks import any_rank, memory_per_rank, world_size
from tuitune.train.stop import stop_requested  # noqa: F401 - re-exported for the trainers

_STEP_KEYS = {
    "loss": "loss",
    "learning_rate": "lr",
    "grad_norm": "grad_norm",
    "epoch": "epoch",
    "mean_token_accuracy": "accuracy",
    # DPO (TRL's DPOTrainer): implicit rewards beta * log(pi / pi_ref) of each answer, their
    # difference, the share of pairs where chosen wins, and the policy's summed log-probs.
    "rewards/chosen": "reward_chosen",
    "rewards/rejected": "reward_rejected",
    "rewards/margins": "reward_margin",
    "rewards/accuracies": "reward_accuracy",
    "logps/chosen": "logp_chosen",
    "logps/rejected": "logp_rejected",
    # KTO, ORPO and SimPO log the same rewards/* and logps/* (KTO has no accuracy: its rows are
    # unpaired); besides, KTO its KL estimate, ORPO and CPO the SFT term and the log odds ratio.
    "kl": "kl",
    "nll_loss": "nll_loss",
    "log_odds_ratio": "log_odds_ratio",
}


class EventCallback(TrainerCallback):
    """Writes ``step``, ``eval`` and ``checkpoint`` events and keeps state.json current."""

    def __init__(self, run: RunDir, events: EventWriter):
        self.run = run
        self.events = events
        self._last_time: float | None = None
        self._last_step = 0
        self._last_tokens: float | None = None
        self._clock = EtaClock()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last_time = time.monotonic()
        self._last_step = state.global_step
        self.run.update_state(total_steps=state.max_steps, step=state.global_step)
        self.events.emit("status", status="training", step=state.global_step, total_steps=state.max_steps)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._clock.step_began(time.monotonic())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._clock.step_ended(time.monotonic())

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        if "eval_loss" in logs:
            metrics = {k.removeprefix("eval_"): v for k, v in logs.items() if k.startswith("eval_")}
            metrics = {_STEP_KEYS.get(k, k) if "/" in k else k: v for k, v in metrics.items()}
            self.events.emit("eval", step=state.global_step, **metrics)
            self._clock.evaluated()
            return
        if "loss" not in logs:
            return
        per_rank = _per_rank_memory()  # a collective with several processes: every rank calls it
        if not state.is_world_process_zero:
            return
        now = time.monotonic()
        step = state.global_step
        fields = {name: logs[key] for key, name in _STEP_KEYS.items() if key in logs}
        if self._last_time is not None and step > self._last_step:
            dt = now - self._last_time
            per_step = self._clock.step_time or dt / (step - self._last_step)
            fields["step_time"] = round(per_step, 4)
            tokens = logs.get("num_tokens")
            if tokens is not None and self._last_tokens is not None and tokens > self._last_tokens:
                # over the steps' own time: an evaluation between two logs is not training
                fields["tokens_per_s"] = round((tokens - self._last_tokens) / (per_step * (step - self._last_step)), 1)
            eta = self._clock.eta(step, state.max_steps, _eval_every(args, state.max_steps))
            if eta is not None:
                fields["eta_s"] = round(eta, 1)
        self._last_time, self._last_step = now, step
        self._last_tokens = logs.get("num_tokens", self._last_tokens)
        self.events.emit("step", step=step, total_steps=state.max_steps, **fields, **_vram(), **per_rank)
        self.run.update_state(step=step, loss=logs["loss"])

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not state.is_world_process_zero or not checkpoint.is_dir():
            return
        mark_complete(checkpoint, state.global_step)
        self.run.update_state(last_checkpoint=checkpoint.name, step=state.global_step)
        self.events.emit("checkpoint", sync=True, step=state.global_step, path=str(checkpoint))


class StopCallback(TrainerCallback):
    """Ends training after the current step, with a checkpoint, when a stop was requested."""

    def __init__(self, run: RunDir):
        self.run = run

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # With several processes, every rank must stop at the same step (a checkpoint is a
        # collective): they agree here, one tiny all-reduce per step, only then.
        if any_rank(stop_requested.is_set(), args.device) and not control.should_training_stop:
            stop_requested.set()
            self.run.update_state(status="stopping")
            control.should_save = True
            control.should_training_stop = True


def _eval_every(args: Any, max_steps: int) -> int | None:
    """Steps between evaluations, or None when the run does not evaluate every N steps."""
    strategy = getattr(args, "eval_strategy", "no")
    every = getattr(args, "eval_steps", None)
    if getattr(strategy, "value", strategy) != "steps" or not every:
        return None
    return max(1, math.ceil(every * max_steps)) if every < 1 else int(every)  # a float below 1: a share of the run


def _per_rank_memory() -> dict[str, Any]:
    """``world_size``, and each rank's allocator counters, on a run of several processes."""
    if world_size() == 1:
        return {}
    memory = memory_per_rank()
    return {"world_size": world_size(), **({"vram_per_rank": memory} if memory else {})}


def _vram() -> dict[str, Any]:
    """The caching allocator's counters: read on the host, so no device sync."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"vram_allocated": torch.cuda.memory_allocated(), "vram_reserved": torch.cuda.memory_reserved()}
