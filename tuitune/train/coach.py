"""The training coach: watches the losses the trainer already logs and warns, as ``warning``
events with a ``code``, when a run is going wrong — each warning says what to change.

Codes: ``loss_nan``, ``loss_exploding``, ``loss_flat``, ``overfitting``; at the end of training
``not_learned`` (:func:`not_learned`: the answer loss still high, or the probes answer as the
base did); and after the run's evaluation ``forgetting`` (:func:`warn_forgetting`). (``labels_masked``,
``too_few_examples``, ``truncated`` and the learning-rate checks come before training, from
tuitune.preset.guidance and tuitune.train.guided.) Each code is raised at most once per worker.
Only reads values already on the host in ``logs``: no extra device syncs.
"""

from __future__ import annotations

import math
from typing import Any

from transformers import TrainerCallback

from tuitune.events import EventWriter
from tuitune.runs.evals import forgetting

WINDOW = 5  # logged steps averaged at each end when judging a trend
EXPLODE_FACTOR = 1.5  # training loss this far above its start is never normal
FLAT_RATIO = 0.95  # the loss must fall at least 5% by 30% of the run
OVERFIT_MARGIN = 1.02
# Not learned yet: the answer loss at the end is still above half its start, or, for
# knowledge-like data, above KNOWLEDGE_LOSS (the benchmark's facts are answered from a new
# phrasing once the answer loss is well under it; benchmarks/learning.py).
NOT_LEARNED_RATIO = 0.5
KNOWLEDGE_LOSS = 0.3


class CoachCallback(TrainerCallback):
    def __init__(self, events: EventWriter, learning_rate: float, usual_lr: float, early_stopping: bool):
        self.events = events
        self.lr, self.usual_lr = learning_rate, usual_lr
        self.early_stopping = early_stopping
        self.losses: list[tuple[int, float]] = []
        self.evals: list[tuple[int, float]] = []
        self.said: set[str] = set()

    def warn(self, code: str, step: int, message: str) -> None:
        if code not in self.said:
            self.said.add(code)
            self.events.emit("warning", source="coach", code=code, step=step, message=message, sync=True)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        step = state.global_step
        if "eval_loss" in logs:
            self.evals.append((step, float(logs["eval_loss"])))
            self._check_overfitting(step)
        elif "loss" in logs:
            loss, grad = float(logs["loss"]), logs.get("grad_norm")
            self.losses.append((step, loss))
            self._check_exploding(step, loss, grad)
            self._check_flat(step, state.max_steps)

    def _check_exploding(self, step: int, loss: float, grad: Any) -> None:
        if not math.isfinite(loss) or (grad is not None and not math.isfinite(float(grad))):
            self.warn("loss_nan", step, f"the loss became {loss} at step {step}: the learning rate {self.lr:g} is "
                      f"too high; lower train.learning_rate (the usual value here is {self.usual_lr:g}) or leave it "
                      "out so tuitune chooses, then start a new run")
            return
        first = self.losses[0][1]
        if len(self.losses) >= 3 and loss > EXPLODE_FACTOR * first:
            self.warn("loss_exploding", step, f"the loss rose from {first:.3f} to {loss:.3f} by step {step}: the "
                      f"learning rate {self.lr:g} is too high; lower train.learning_rate (usual: "
                      f"{self.usual_lr:g}) or leave it out so tuitune chooses")

    def _check_flat(self, step: int, max_steps: int) -> None:
        if "loss_flat" in self.said or len(self.losses) < 2 * WINDOW or step < 0.3 * max_steps:
            return
        start = sum(v for _, v in self.losses[:WINDOW]) / WINDOW
        now = sum(v for _, v in self.losses[-WINDOW:]) / WINDOW
        if math.isfinite(now) and now > FLAT_RATIO * start:
            hint = (f"raise train.learning_rate (usual: {self.usual_lr:g})" if self.lr < self.usual_lr / 2
                    else "check the labels: `tuitune data inspect` shows what is trained, and a template or "
                         "masking mistake leaves the answers untrained")
            self.warn("loss_flat", step, f"the loss has not fallen ({start:.3f} → {now:.3f} over {step} steps) at "
                      f"learning rate {self.lr:g}: {hint}")

    def _check_overfitting(self, step: int) -> None:
        if len(self.evals) < 2 or not self.losses:
            return
        best_step, best = min(self.evals, key=lambda e: e[1])
        now = self.evals[-1][1]
        if now <= best * OVERFIT_MARGIN or now <= self.evals[-2][1]:
            return
        then = [v for s, v in self.losses if s <= best_step][-WINDOW:] or [self.losses[0][1]]
        recent = [v for _, v in self.losses[-WINDOW:]]
        train_then, train_now = sum(then) / len(then), sum(recent) / len(recent)
        if train_now >= train_then:
            return
        keep = (f"early stopping keeps the best checkpoint (step {best_step})" if self.early_stopping
                else "turn eval.early_stopping on to keep the best checkpoint")
        self.warn("overfitting", step, f"validation loss rose from {best:.3f} (step {best_step}) to {now:.3f} while "
                  f"training loss fell from {train_then:.3f} to {train_now:.3f}: the model is memorising its "
                  f"examples. Train fewer epochs or steps, lower the learning rate, or add data; {keep}")


def warn_forgetting(events: EventWriter, summary: dict[str, Any], margin: float, step: int) -> None:
    """After the evaluation at the end of a run: warn when the general score fell by more than
    ``margin`` (the words are tuitune.runs.evals', which `tuitune eval` prints too)."""
    message = forgetting(summary, margin)
    if message:
        events.emit("warning", source="coach", code="forgetting", step=step, message=message, sync=True)


def not_learned(losses: list[tuple[int, float]], *, knowledge_like: bool = False, base: list[str] | None = None,
                tuned: list[str] | None = None, learning_rate: float | None = None,
                usual_lr: float | None = None) -> str | None:
    """The coach's ``not_learned`` message at the end of training, with the numbers, or None."""
    reasons = []
    finite = [v for _, v in losses if math.isfinite(v)]
    # A resumed run's coach saw only the losses since the resume: its start is not the run's.
    from_start = bool(losses) and losses[0][0] <= WINDOW
    if len(finite) >= 2:
        window = min(WINDOW, max(1, len(finite) // 2))
        start, end = sum(finite[:window]) / window, sum(finite[-window:]) / window
        # Under KNOWLEDGE_LOSS an answer is learned whatever the start was.
        if from_start and end > max(NOT_LEARNED_RATIO * start, KNOWLEDGE_LOSS):
            reasons.append(f"the training loss on the answers is still {end:.3f} at the end (from {start:.3f}: "
                           f"less than halved)")
        elif knowledge_like and end > KNOWLEDGE_LOSS:
            reasons.append(f"the training loss on the answers is still {end:.3f} at the end (facts are recalled "
                           f"once it is well under {KNOWLEDGE_LOSS})")
    if base and tuned and len(base) == len(tuned) and all(" ".join(b.split()) == " ".join(t.split())
                                                          for b, t in zip(base, tuned, strict=True)):
        reasons.append(f"the {len(tuned)} probe answers are unchanged from the base model's")
    if not reasons:
        return None
    rate = f" (now {learning_rate:g}; usual {usual_lr:g})" if learning_rate and usual_lr else ""
    return (f"not learned yet: {'; '.join(reasons)}. Train longer (`tuitune runs extend RUN`, or more "
            f"train.epochs), raise the learning rate{rate}, or add phrasings of each example")
