"""Out of memory in the worker, below the process level: what counts as OOM, the advice, and
the decision to retry or fail (the real-process retry is in test_faults.py)."""

import pytest

from tuitune.errors import is_oom
from tuitune.events import EventWriter, read_events
from tuitune.preset import parse_preset
from tuitune.runs.store import create_run
from tuitune.train import oom
from tuitune.train.worker import _after_oom, explain


def preset(**train):
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in train.items())
    return parse_preset(f'[model]\npath = "org/m"\n[data]\npath = "bundled:pirate"\n[train]\n{lines}')


def test_what_counts_as_out_of_memory():
    import torch

    assert is_oom(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_oom(RuntimeError("CUDA error: out of memory"))
    assert is_oom(MemoryError())
    assert not is_oom(RuntimeError("shape mismatch"))


def test_advice_says_what_to_lower_and_by_how_much():
    items = oom.advice(preset(batch_size=8, grad_accum=2, max_seq_len=2048).train, "cuda", "the planner suggests X")
    assert items[0] == "train.batch_size 8 → 4 with train.grad_accum 2 → 4 (same effective batch of 16)"
    assert items[1].startswith("train.max_seq_len 2048 → 1024")
    assert any("gradient_checkpointing" in i for i in items) and any("qlora" in i for i in items)
    assert items[-1] == "the planner suggests X"
    odd = oom.advice(preset(batch_size=3).train, "cpu")[0]
    assert "effective batch of 2 instead of 3" in odd


@pytest.mark.parametrize("train,changes,expect", [
    ({"on_oom": "fail"}, [], "fail"),
    ({"on_oom": "retry", "batch_size": 1}, [], "fail"),  # nothing left to halve
    ({"on_oom": "retry", "oom_retries": 1}, [{"reason": "out of memory"}], "fail"),  # limit reached
    ({"on_oom": "retry", "batch_size": 4, "grad_accum": 2}, [], "retry"),
])
def test_retry_or_fail(tuitune_home, train, changes, expect):
    p = preset(**train)
    run = create_run(p)
    run.update_state(step=7, device="cpu", changes=changes)
    with EventWriter(run.events) as events:
        if expect == "fail":
            with pytest.raises(oom.OutOfMemory) as failed:
                _after_oom(run, p, events, MemoryError("no room"))
            message = explain(failed.value)
            assert message.startswith("out of memory (CPU RAM: no room). Lower, in this order: ")
            assert "train.max_seq_len" in message and "tuitune runs resume" in message
        else:
            assert _after_oom(run, p, events, MemoryError("no room")) == oom.Batching(2, 4)
    (event,) = [e for e in read_events(run.events) if e["type"] == "oom"]
    assert event["action"] == expect and event["step"] == 7
    state = run.read_state()
    if expect == "retry":
        assert (state.batch_size, state.grad_accum) == (2, 4) and state.changes[-1]["batch_size"] == [4, 2]
    else:
        assert state.batch_size is None and state.changes == changes
