"""Faults with real processes on the tiny model: a worker killed at start and mid-save, a full
disk during a checkpoint save, out of memory with `on_oom = "retry"`, a kill during export, and
corrupted run files. Each says what tuitune did, and that nothing else was lost.

Faults are injected with TUITUNE_FAULT (tuitune/runs/faults.py), read only by the worker.
"""

import hashlib
import json
import os
import shutil

import pytest

from tests.helpers import read_state, run_dir_from, step_losses, tuitune, write_preset
from tuitune.events import read_events
from tuitune.runs.checkpoints import MARKER, STAGING, complete_checkpoints

pytestmark = pytest.mark.slow


@pytest.fixture
def fault(monkeypatch):
    """fault(spec) makes the next workers started by `tuitune` fail that way; fault(None) heals."""

    def set_fault(spec):
        if spec:
            monkeypatch.setenv("TUITUNE_FAULT", spec)
        else:
            monkeypatch.delenv("TUITUNE_FAULT", raising=False)

    return set_fault


def events_of(run, type_):
    return [e for e in read_events(run / "events.jsonl") if e["type"] == type_]


def checkpoint_names(run):
    return [p.name for p in complete_checkpoints(run / "checkpoints")]


def digest(folder):
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_one_run_through_four_faults(tmp_path, tiny_model_dir, small_data, fault):
    """One run through four faults, each in a fresh worker process:

    0. The worker is killed before it takes the run (and before its signal handlers): the run
       still says `queued`, yet shows as `crashed` and resumes.
    1. SIGKILL while checkpoint-4 is half written → `crashed`; checkpoint-2 intact, no checkpoint-4.
    2. Resume; the disk is full while writing checkpoint-6 → `failed` with a clear message;
       checkpoint-4 intact and nothing half-written left.
    3. Resume; out of memory at step 7 with batch 4 → halved to 2 x grad_accum 2, resumed from
       the last checkpoint (checkpoint-6) in the same worker, and finished; the change is in state.json and the events.
    """
    preset = write_preset(
        tmp_path / "p.toml", tiny_model_dir, small_data,
        train={"max_steps": 8, "save_steps": 2, "save_total_limit": 2, "on_oom": "retry", "max_seq_len": 64},
    )
    # 0. Killed at once.
    fault("kill_at_start")
    result = tuitune("run", str(preset), "-s", "data.val_fraction=0", "--json")  # no eval: faster
    assert result.returncode == 1 and "crashed" in result.stderr and "Traceback" not in result.stderr
    run = run_dir_from(result.stderr)
    assert read_state(run)["status"] == "queued"  # the worker never wrote anything
    assert json.loads(tuitune("runs", "list", "--json").stdout.splitlines()[0])["status"] == "crashed"

    # 1. Killed mid-save.
    fault("kill_in_save:step=4")
    result = tuitune("runs", "resume", run.name, "--json")
    assert result.returncode == 1 and "crashed" in result.stderr
    assert json.loads(tuitune("runs", "show", run.name, "--json").stdout)["status"] == "crashed"
    assert checkpoint_names(run) == ["checkpoint-2"]
    assert not (run / "checkpoints" / "checkpoint-4").exists()
    assert (run / "checkpoints" / STAGING / "checkpoint-4").is_dir()  # the half-written save
    kept = digest(run / "checkpoints" / "checkpoint-2")

    # 2. Disk full while saving checkpoint-6.
    fault("enospc_in_save:step=6")
    result = tuitune("runs", "resume", run.name, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    state = read_state(run)
    assert state["status"] == "failed"
    assert state["message"].startswith("could not save checkpoint-6: no space left on the disk")
    assert "the previous checkpoint (checkpoint-4) is intact" in state["message"]
    assert state["message"] in result.stderr
    assert checkpoint_names(run) == ["checkpoint-2", "checkpoint-4"]
    assert digest(run / "checkpoints" / "checkpoint-2") == kept
    assert not (run / "checkpoints" / STAGING).exists() and not (run / "checkpoints" / "checkpoint-6").exists()
    resumed = [e for e in events_of(run, "status") if e["status"] == "resuming"]
    assert resumed[-1]["step"] == 2  # the half-written checkpoint-4 was not used

    # 3. Out of memory at step 7 while the batch holds more than 2 examples.
    fault("oom:step=7,batch_over=2")
    result = tuitune("runs", "resume", run.name, "--json")
    assert result.returncode == 0, result.stderr
    (oom,) = events_of(run, "oom")
    assert oom["batch_size"] == 4 and oom["grad_accum"] == 1 and oom["action"] == "retry"
    assert oom["advice"][0].startswith("train.batch_size 4 → 2 with train.grad_accum 1 → 2 (same effective batch of 4)")
    (retry,) = events_of(run, "retry")
    assert retry == {**retry, "batch_size": 2, "grad_accum": 2, "effective_batch": 4, "resume_from": "checkpoint-6"}
    state = read_state(run)
    assert state["status"] == "done" and state["step"] == 8 and state["attempts"] == 3
    assert state["batch_size"] == 2 and state["grad_accum"] == 2
    (change,) = state["changes"]
    assert change == {**change, "reason": "out of memory", "batch_size": [4, 2], "grad_accum": [1, 2]}
    steps = [e["step"] for e in events_of(run, "step")]
    assert steps[-2:] == [7, 8]
    assert all(os.path.exists(run / "checkpoints" / name / MARKER) for name in checkpoint_names(run))
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    assert len(step_losses(run)) >= 8


def test_export_killed_midway_leaves_the_run_done_and_exports_again(terse_export, tmp_path, monkeypatch, fault):
    """The export worker is killed as the GGUF conversion starts (the merged model is written):
    the run stays `done`, no report vouches for half-made files, and the next export completes."""
    trained, _ = terse_export
    home = tmp_path / "home"
    run = home / "runs" / trained.name
    shutil.copytree(trained, run, ignore=shutil.ignore_patterns("gguf", "merged", "worker.lock"))
    monkeypatch.setenv("TUITUNE_HOME", str(home))

    fault("kill_in_export:stage=convert")
    result = tuitune("export", run.name, "--quant", "q8_0", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the export worker died (killed by SIGKILL)" in result.stderr
    assert json.loads(tuitune("runs", "show", run.name, "--json").stdout)["status"] == "done"
    assert (run / "merged").is_dir() and not (run / "gguf" / "report.json").exists()

    fault(None)
    result = tuitune("export", run.name, "--quant", "q8_0", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["status"] == "passed" and [f["quant"] for f in report["files"]] == ["q8_0"]
    assert os.path.getsize(report["files"][0]["path"]) > 0
