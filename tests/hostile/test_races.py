"""Two fronts at once, and a front that cannot write: one worker per run, and none left running unseen."""

from __future__ import annotations

import errno

import pytest

from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.runs import workers
from tuitune.runs.store import RunDir, RunStoreError, create_run


@pytest.fixture
def spawned(monkeypatch) -> list:
    """Every worker process the test starts (all killed at its end: none outlives a failing test)."""
    processes: list = []
    real_spawn = workers._spawn

    def spawn(*args):
        processes.append(real_spawn(*args))
        return processes[-1]

    monkeypatch.setattr(workers, "_spawn", spawn)
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def test_a_second_start_while_the_first_worker_boots_says_the_run_is_held(tuitune_home, spawned):
    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))
    first = workers.start_worker(run)  # returns at once: its worker has not taken the run yet
    with pytest.raises(RunStoreError, match="already running in another worker"):
        workers.start_worker(run)
    assert run.is_locked() and first.poll() is None and spawned == [first]


def test_a_worker_whose_start_cannot_be_recorded_is_stopped(tuitune_home, monkeypatch, spawned):
    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))

    def disk_full(self, pid):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.launch_file))

    monkeypatch.setattr(RunDir, "record_launch", disk_full)
    with pytest.raises(RunStoreError, match="no space left on the disk holding .*worker.pid; free some space") as refused:
        workers.start_worker(run)
    assert "the worker was stopped" in str(refused.value)
    assert spawned and spawned[0].poll() is not None  # not left running unseen
    assert not run.is_locked()
