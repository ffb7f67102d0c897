import json
import os
import subprocess

import pytest

from tests.helpers import idle_process
from tuitune.paths import atomic_write_text
from tuitune.preset import parse_preset
from tuitune.runs.store import RunState, RunStoreError, create_run, find_run, list_runs

PRESET = parse_preset('name = "My Run!"\n[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n')


def test_create_run_writes_resolved_config_and_queued_state(tuitune_home):
    run = create_run(PRESET)
    assert run.path.parent == tuitune_home / "runs"
    assert "my-run" in run.id
    assert run.read_state().status == "queued"
    assert run.preset() == PRESET


def test_atomic_write_leaves_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    atomic_write_text(target, "old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_corrupt_state_gives_clear_error(tuitune_home):
    run = create_run(PRESET)
    run.state_file.write_text("{ half")
    with pytest.raises(RunStoreError, match="state.json: unreadable"):
        run.read_state()


def test_running_state_without_worker_is_crashed(tuitune_home):
    run = create_run(PRESET)
    run.write_state(RunState(status="running", pid=999999))
    assert run.status() == "crashed"


def test_lock_is_exclusive_across_processes_and_freed_on_death(tuitune_home):
    run = create_run(PRESET)
    holder = idle_process(f"from tuitune.runs.store import RunDir; lock = RunDir({str(run.path)!r}).acquire(); print('held', flush=True)",
                          stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run.is_locked()
        run.write_state(RunState(status="running", pid=holder.pid))
        assert run.status() == "running"
        with pytest.raises(RunStoreError, match="already running"):
            run.acquire()
    finally:
        holder.kill()
        holder.wait()
    assert not run.is_locked()
    assert run.status() == "crashed"
    run.acquire().close()


def test_find_and_list_runs(tuitune_home):
    first = create_run(PRESET)
    second = create_run(PRESET)  # most often in the same second: the order must not need a new one
    assert [r.id for r in list_runs()] == [first.id, second.id]
    assert find_run(second.id).path == second.path
    assert find_run(str(first.path)).path == first.path
    with pytest.raises(RunStoreError, match="no run"):
        find_run("nope")


def test_state_roundtrip_ignores_unknown_keys(tuitune_home):
    run = create_run(PRESET)
    data = json.loads(run.state_file.read_text())
    data["from_the_future"] = 1
    run.state_file.write_text(json.dumps(data))
    assert run.read_state().status == "queued"


def test_delete_run_refuses_while_a_worker_holds_it(tuitune_home):
    from tuitune.runs.store import delete_run

    run = create_run(PRESET)
    (run.checkpoints / "checkpoint-2").mkdir(parents=True)
    holder = run.acquire()
    with pytest.raises(RunStoreError, match="is running; stop it first"):
        delete_run(run)
    assert run.state_file.exists()
    holder.close()
    delete_run(run)
    assert not run.path.exists() and list_runs() == []
    with pytest.raises(RunStoreError, match="not a tuitune run"):
        delete_run(run)
