"""A sweep trial's side in the worker: report each validation loss to the sweep's Optuna study,
and stop training when the median pruner says the trial is worse than the finished trials were
at the same step (tuitune/runs/sweep.py). The run then ends ``done`` with the weights it has, and
its tag says ``pruned``."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from tuitune.events import EventWriter
from tuitune.runs import sweep
from tuitune.runs.store import RunDir


def sweep_callbacks(run: RunDir, events: EventWriter) -> list[Any]:
    tag = sweep.read_tag(run)
    if tag is None or tag.get("trial_id") is None:
        return []
    return [PruneCallback(run, events, tag)]


class PruneCallback(TrainerCallback):
    def __init__(self, run: RunDir, events: EventWriter, tag: dict[str, Any]):
        self.run, self.events, self.tag = run, events, tag

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
                    **kwargs: Any) -> None:
        loss = (metrics or {}).get("eval_loss")
        if loss is None:
            return
        import optuna

        trial = optuna.trial.Trial(sweep.study(sweep.find_sweep(self.tag["sweep"])), self.tag["trial_id"])
        trial.report(float(loss), state.global_step)
        if trial.should_prune():
            self.tag = {**self.tag, "pruned": True, "pruned_at": state.global_step}
            sweep.write_tag(self.run, self.tag)
            self.events.emit("pruned", sync=True, step=state.global_step, eval_loss=float(loss),
                             sweep=self.tag["sweep"], total_steps=state.max_steps,
                             message=f"sweep trial pruned at step {state.global_step}: validation loss {loss:.4f} is "
                                     "worse than the median of the finished trials at this step")
            control.should_training_stop = True
