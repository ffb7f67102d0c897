"""`tuitune plan --probe` measures what `tuitune run` would train: the same trainer, with the
same speed plan (attention, padding-free, length grouping, Liger)."""

import pytest

from tuitune.hardware.estimate import estimate
from tuitune.hardware.model_ref import load_shape
from tuitune.hardware.probe import run_probe
from tuitune.hardware.setup import Setup


@pytest.mark.slow
def test_the_probe_trains_with_the_speed_plan_of_a_real_run(tiny_model_dir, tuitune_home):
    est = estimate(load_shape(str(tiny_model_dir)),
                   Setup("lora", seq_len=32, batch=2, device="cpu", compute="fp32", grad_checkpointing=False))
    result = run_probe(str(tiny_model_dir), est, device="cpu", steps=2, search=False)
    m = result.measured
    assert m["fits"] is True and len(m["step_seconds"]) == 2
    # A run of a Llama with 2 rows a batch on this CPU: SDPA, rows laid end to end (padding-free),
    # so no length grouping, no Liger (no CUDA). The probe reports the plan it ran with.
    speed = m["speed"]
    assert (speed["attention"], speed["padding_free"], speed["group_by_length"], speed["liger"]) == \
        ("sdpa", True, False, False)
    assert "padding_free" in speed["reasons"]
