"""``eval.plateau_stop``: end a run when the training loss stops falling, for runs with no
validation split to trust (too few rows held out, or none), where early stopping cannot act.

The rule (:func:`plateaued`, pure): from half way through the run, the mean of the last
``WINDOW`` logged losses has not improved by ``MIN_GAIN`` on the best such mean seen a quarter of
the run earlier, and by no more than the step-to-step noise of the latest losses: a slow but
steady fall (a high loss falling 1 % a quarter, as a small model early in its learning does) is
still learning, not a plateau. Reads only the losses the trainer already logged.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from tuitune.events import EventWriter

WINDOW = 5
MIN_GAIN = 0.02  # a relative fall smaller than this over a quarter of the run is a plateau
START = 0.5  # never before half the run: the first half is warmup and the steep part
MIN_STEPS = 40  # a shorter run has too few losses to tell a plateau from noise


def plateaued(losses: list[tuple[int, float]], max_steps: int) -> tuple[float, float] | None:
    """(the best windowed loss a quarter of the run ago, the best now) when the loss has
    plateaued, else None. ``losses``: (step, loss) as logged."""
    if max_steps < MIN_STEPS or len(losses) < 2 * WINDOW or losses[-1][0] < START * max_steps:
        return None
    back = losses[-1][0] - max(1, max_steps // 4)
    means = [(losses[i + WINDOW - 1][0], sum(v for _, v in losses[i:i + WINDOW]) / WINDOW)
             for i in range(len(losses) - WINDOW + 1)]
    before = [m for s, m in means if s <= back]
    if not before:
        return None
    then, now = min(before), min(m for _, m in means)
    recent = [v for _, v in losses[-2 * WINDOW:]]
    average = sum(recent) / len(recent)
    noise = (sum((v - average) ** 2 for v in recent) / len(recent)) ** 0.5
    fall = then - now
    return (then, now) if fall < MIN_GAIN * then and fall <= noise else None


class PlateauStopCallback(TrainerCallback):
    def __init__(self, events: EventWriter):
        self.events = events
        self.losses: list[tuple[int, float]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs or "eval_loss" in logs:
            return
        self.losses.append((state.global_step, float(logs["loss"])))
        found = plateaued(self.losses, state.max_steps)
        if found and not control.should_training_stop:
            then, now = found
            control.should_training_stop = True
            self.events.emit("warning", source="coach", code="plateau_stop", step=state.global_step, sync=True,
                             message=f"stopped at step {state.global_step} of {state.max_steps}: the training loss "
                                     f"has stopped falling ({then:.3f} a quarter of the run ago, {now:.3f} now; "
                                     "eval.plateau_stop)")
