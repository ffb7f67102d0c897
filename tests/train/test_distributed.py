"""One run on two processes (gloo on the CPU) through the real worker, accelerate's launcher and
the same run directory: `train.distributed = "ddp"`, `num_processes = 2` (docs/distributed.md).

One DDP run is shared by the module (its loss, events, state, export); one one-process run at
the same global batch is the reference; one more DDP run is killed at a rank and resumed.
"""

import json
import os
import signal

import pytest

from tests.helpers import read_state, run_dir_from, step_losses, tuitune, write_preset
from tests.waits import wait_for
from tuitune.events import read_events
from tuitune.runs.checkpoints import complete_checkpoints

pytestmark = pytest.mark.slow

STEPS = 8
# The same global batch: 2 ranks x 2 per device (DDP) against 1 x 4; no validation split, so
# both see the same rows in the same order (the data is split and shuffled by the same seed).
ONE_SPLIT = ["-s", "data.val_fraction=0"]
DDP = [*ONE_SPLIT, "-s", "train.distributed=ddp", "-s", "train.num_processes=2", "-s", "train.batch_size=2"]


def preset_for(tmp_path, tiny_model_dir, small_data, **train):
    return write_preset(tmp_path / "p.toml", tiny_model_dir, small_data,
                        train={"max_steps": STEPS, "save_steps": 4, "max_seq_len": 64, "learning_rate": 5e-3,
                               "padding_free": False, "group_by_length": False, **train})


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, tiny_model_dir, small_data):
    """The shared two-process run, and the one-process run it is compared with (same home)."""
    home = tmp_path_factory.mktemp("ddp-home")
    preset = preset_for(tmp_path_factory.mktemp("ddp"), tiny_model_dir, small_data)
    ddp = tuitune("run", str(preset), *DDP, "--json", env_home=home)
    single = tuitune("run", str(preset), *ONE_SPLIT, "-s", "train.batch_size=4", "--json", env_home=home)
    return home, ddp, single


def test_ddp_two_processes_train_like_one(ddp_run):
    _, ddp, single = ddp_run
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    run, one = run_dir_from(ddp.stderr), run_dir_from(single.stderr)
    events = read_events(run / "events.jsonl")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # one writer: rank 0
    launch = next(e for e in events if e["type"] == "launch")
    assert launch["strategy"] == "ddp" and launch["num_processes"] == 2 and launch["device"] == "cpu"
    config = json.loads((run / "launch" / "accelerate.yaml").read_text())
    assert config["num_processes"] == 2 and config["distributed_type"] == "MULTI_GPU"
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == STEPS and all(e["world_size"] == 2 for e in steps)
    assert read_state(run)["status"] == "done" and (run / "adapter" / "adapter_model.safetensors").is_file()
    losses, reference = step_losses(run), step_losses(one)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
    # Same global batch, same rows: DDP's mean of two half-batches is the one-process batch's mean
    # (up to float summation order, and how padding splits: per token, not per row).
    assert len(reference) == len(losses)
    for a, b in zip(losses, reference, strict=True):
        assert abs(a - b) <= 0.02 * abs(b) + 0.02, (losses, reference)


def test_export_merges_the_ddp_adapter(ddp_run, tmp_path):
    """The DDP run's adapter is an ordinary one: the export merges it into the base weights."""
    home, ddp, _ = ddp_run
    run = run_dir_from(ddp.stderr)
    result = tuitune("export", run.name, "--quant", "q8_0", "--no-ollama", env_home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["status"] == "passed", report["verification"]["reasons"]


def _pid(path):
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def test_sigkill_of_one_rank_crashes_the_run_and_resume_finishes(tmp_path, tiny_model_dir, small_data):
    """SIGKILL of rank 1 after the first checkpoint: the launcher ends rank 0, the worker records
    `crashed` and exits; no rank is left; `tuitune runs resume` finishes from checkpoint-4."""
    import subprocess
    import sys

    from tuitune.runs.store import pid_alive

    preset = preset_for(tmp_path, tiny_model_dir, small_data, save_steps=2, max_steps=6)
    front = subprocess.Popen([sys.executable, "-m", "tuitune", "run", str(preset), *DDP, "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = os.environ["TUITUNE_HOME"] + "/runs"
    run = wait_for(lambda: next(iter(__import__("pathlib").Path(runs).glob("*/launch/rank-1.pid")), None),
                   what="rank 1's pid file").parent.parent
    wait_for(lambda: complete_checkpoints(run / "checkpoints"), what="a complete checkpoint")
    ranks = [_pid(run / "launch" / f"rank-{i}.pid") for i in (0, 1)]
    os.kill(ranks[1], signal.SIGKILL)
    out, err = front.communicate(timeout=300)
    assert front.returncode == 1, err[-3000:]
    state = read_state(run)
    assert state["status"] == "crashed" and "rank 1 of 2" in state["message"], state
    assert "runs resume" in state["message"]
    assert not any(pid_alive(p) for p in ranks), "a rank outlived the run"
    kept = complete_checkpoints(run / "checkpoints")[-1].name

    resumed = tuitune("runs", "resume", run.name, "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_state(run)["status"] == "done"
    events = read_events(run / "events.jsonl")
    assert any(e["type"] == "status" and e.get("status") == "resuming" and kept in e["checkpoint"] for e in events)
    assert [e["step"] for e in events if e["type"] == "step"][-1] == 6
