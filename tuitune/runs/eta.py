"""The time a run has left, as the training worker estimates it on every step: the median of the
recent steps' own time (from the step's start to its end, so that an evaluation, the probes or
a checkpoint between two steps does not halve or double it: seen 1m24s → 34s in 15 s) plus the
evaluations still to come, each as long as those measured (with their probes and checkpoint),
so the estimate no longer freezes through one and then falls. Light: the worker feeds it the
trainer's callbacks, the tests feed it times."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

WINDOW = 20  # recent steps the median reads: long enough to be steady, short enough to follow a change


@dataclass
class EtaClock:
    step_times: list[float] = field(default_factory=list)
    eval_times: list[float] = field(default_factory=list)
    _began: float | None = None
    _ended: float | None = None
    _evaluated = False

    def step_began(self, now: float) -> None:
        if self._evaluated and self._ended is not None:
            # Everything since the last step ended: the evaluation, its probes, the checkpoint.
            self.eval_times = (self.eval_times + [now - self._ended])[-WINDOW:]
        self._evaluated, self._began = False, now

    def step_ended(self, now: float) -> float | None:
        """The step's own time (None when its start was not seen: the first after a resume)."""
        if self._began is None:
            return None
        own = now - self._began
        self.step_times = (self.step_times + [own])[-WINDOW:]
        self._began, self._ended = None, now
        return own

    def evaluated(self) -> None:
        """An evaluation ran after the last step; its cost is known when the next step begins."""
        self._evaluated = True

    @property
    def step_time(self) -> float | None:
        return statistics.median(self.step_times) if self.step_times else None

    def eta(self, step: int, max_steps: int, eval_every: int | None) -> float | None:
        """Seconds left: the steps to go, and the evaluations they will meet (counted once one
        has been measured)."""
        if self.step_time is None:
            return None
        seconds = max(0, max_steps - step) * self.step_time
        if eval_every and self.eval_times:
            evals = max_steps // eval_every - step // eval_every
            seconds += max(0, evals) * statistics.fmean(self.eval_times)
        return seconds
