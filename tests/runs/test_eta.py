"""The worker's ETA: steady through a slow gap or an evaluation, and counting the evaluations to come."""

from __future__ import annotations

import pytest

from tuitune.runs.eta import EtaClock


def steps(clock: EtaClock, start: float, n: int, each: float = 2.0) -> float:
    t = start
    for _ in range(n):
        clock.step_began(t)
        clock.step_ended(t + each)
        t += each
    return t


def test_an_evaluation_between_two_steps_neither_freezes_nor_jumps_the_estimate():
    clock = EtaClock()
    t = steps(clock, 0.0, 10)
    assert clock.eta(10, 30, eval_every=10) == pytest.approx(20 * 2.0)  # no evaluation measured yet: not guessed
    clock.evaluated()  # step 10's evaluation, its probes and checkpoint: 12 s before step 11 begins
    steps(clock, t + 12.0, 1)
    assert clock.step_time == pytest.approx(2.0)  # the step's own time: the evaluation is not in it
    # 19 steps to go, and the two evaluations left (20, 30) counted at 12 s each
    assert clock.eta(11, 30, eval_every=10) == pytest.approx(19 * 2.0 + 2 * 12.0)


def test_one_slow_step_does_not_move_the_estimate():
    clock = EtaClock()
    t = steps(clock, 0.0, 9)
    steps(clock, t, 1, each=20.0)  # the machine busy for a moment
    assert clock.eta(10, 40, eval_every=None) == pytest.approx(30 * 2.0)


def test_nothing_to_say_before_the_first_step_and_a_resume_starts_afresh():
    clock = EtaClock()
    assert clock.eta(0, 10, eval_every=5) is None
    assert clock.step_ended(5.0) is None  # a step whose start was not seen (resumed mid-way) is not counted
    assert clock.eta(3, 10, eval_every=5) is None
