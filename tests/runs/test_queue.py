"""The run queue through the real CLI and workers on the tiny model: runs wait as `queued`, start
one after another with no daemon, and a worker killed mid-run does not stop the rest."""

from __future__ import annotations

import contextlib
import json
import os
import signal

import pytest

from tests.helpers import tuitune, write_preset
from tests.waits import wait_for


def _status(home, run_id):
    return json.loads((home / "runs" / run_id / "state.json").read_text())


def _queue(home, preset, name):
    result = tuitune("run", str(preset), "--queue", "--detach", "-s", f"name={name}", env_home=home)
    assert result.returncode == 0, result.stderr
    return next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("run "))


@pytest.fixture
def home(tmp_path):
    """A TUITUNE_HOME whose queue is emptied and whose workers are killed at the end, pass or fail:
    a queued run must never start after its test is over."""
    home = tmp_path / "home"
    yield home
    tuitune("queue", "clear", env_home=home)
    from tuitune.runs.store import RunDir

    for folder in (home / "runs").glob("*"):
        run = RunDir(folder)
        if run.is_locked():  # only a worker that holds its run now: never a pid that may have been reused
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(run.read_state().pid, signal.SIGKILL)


def test_three_queued_runs_run_in_order_and_a_killed_one_does_not_stop_the_rest(home, tmp_path, tiny_model_dir,
                                                                                  small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 4, "save_steps": 2})
    first, second, third = (_queue(home, preset, n) for n in ("first", "second", "third"))

    listed = tuitune("queue", "--json", env_home=home)
    waiting = [json.loads(line)["run"] for line in listed.stdout.splitlines()]
    assert waiting == [second, third], listed.stdout  # the first started at once: its device was free
    assert _status(home, second)["status"] == "queued"
    runs = tuitune("runs", "list", "--json", env_home=home)
    assert {json.loads(line)["id"]: json.loads(line)["status"] for line in runs.stdout.splitlines()}[third] == "queued"

    # Reorder and back: `move` changes the order the queue shows.
    assert tuitune("queue", "move", third, "--to", "1", env_home=home).returncode == 0
    assert [json.loads(x)["run"] for x in tuitune("queue", "--json", env_home=home).stdout.splitlines()] == [third, second]
    assert tuitune("queue", "move", third, "--to", "2", env_home=home).returncode == 0

    # The first run's worker starts the second when it finishes; kill that one as it trains.
    state = wait_for(lambda: (s := _status(home, second))["status"] == "running" and s.get("pid") and s,
                     timeout=900, what="the second run to start from the queue")
    assert _status(home, first)["status"] == "done"
    os.kill(state["pid"], signal.SIGKILL)
    # Nobody is left to start the third: the next front that looks at the queue does.
    wait_for(lambda: tuitune("queue", env_home=home).returncode == 0 and _status(home, third)["status"] != "queued",
             timeout=120, what="`tuitune queue` to start the third run")
    wait_for(lambda: _status(home, third)["status"] == "done", timeout=900, what="the third run to finish")

    shown = tuitune("runs", "show", second, "--json", env_home=home)
    assert json.loads(shown.stdout)["status"] == "crashed"
    one, three = _status(home, first), _status(home, third)
    assert one["finished_at"] <= _status(home, second)["started_at"] <= three["started_at"]
    assert three["step"] == 4
    assert tuitune("queue", "--json", env_home=home).stdout.strip() == ""


def test_queue_remove_and_clear_leave_runs_stopped(tmp_path, tiny_model_dir, small_data):
    """No training: the device is held by a run that reads as training (a live lock), so the runs
    wait; removing them leaves them stopped, and a bad reference is one clear line."""
    from tuitune.preset import load_preset
    from tuitune.runs import actions, queue
    from tuitune.runs.store import create_run

    preset = load_preset(write_preset(tmp_path / "p.toml", tiny_model_dir, small_data))
    busy = create_run(preset)
    lock = busy.acquire()
    busy.update_state(status="running", pid=os.getpid())
    with lock:
        a, b = (actions.launch_or_queue(preset) for _ in range(2))
        assert isinstance(a, actions.Queued) and a.behind == busy.id and (a.position, b.position) == (1, 2)
        queue.remove(a.run.id)
        assert a.run.read_state().status == "stopped"
        assert [e.run for e in queue.entries()] == [b.run.id]
        assert queue.clear() == [b.run.id]
        assert b.run.read_state().status == "stopped" and queue.entries() == []
    result = tuitune("queue", "remove", "nonesuch", env_home=tmp_path / "home")
    assert result.returncode == 2 and "no run 'nonesuch'" in result.stderr and "Traceback" not in result.stderr


def test_a_worker_the_queue_started_is_reaped_when_it_ends():
    """A front that starts workers and lives on (the TUI, `tuitune sweep`) must not keep them as zombies."""
    import subprocess
    import sys
    from pathlib import Path

    from tuitune.runs.workers import reap_in_background

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    reap_in_background(process)
    wait_for(lambda: process.returncode is not None, timeout=30, what="the exit status collected")
    assert process.returncode == 0 and not Path(f"/proc/{process.pid}").exists()
