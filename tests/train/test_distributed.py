"""One run on two processes (gloo on the CPU) through the real worker, accelerate's launcher and
the same run directory: `train.distributed = "ddp"`, `num_processes = 2` (docs/distributed.md).

One DDP run is shared by the module: rank 1 is SIGKILLed after its first checkpoint (the run
must read `crashed`, with no process left), `tuitune runs resume` finishes it, and then its loss
is compared with a one-process run at the same global batch, and its adapter exported.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import exported_gguf, read_state, run_dir_from, step_losses, tuitune, write_preset
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


def _pid(path):
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, tiny_model_dir, small_data):
    """The shared two-process run (killed at rank 1, then resumed), and the one-process run it is
    compared with; both in one TUITUNE_HOME."""
    from tuitune.runs.store import pid_alive

    home = tmp_path_factory.mktemp("ddp-home")
    preset = preset_for(tmp_path_factory.mktemp("ddp"), tiny_model_dir, small_data)
    env = dict(os.environ, TUITUNE_HOME=str(home))
    front = subprocess.Popen([sys.executable, "-m", "tuitune", "run", str(preset), *DDP, "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    pid_file = wait_for(lambda: next(iter(Path(home, "runs").glob("*/launch/rank-1.pid")), None), timeout=600,
                        what="rank 1's pid file")
    run = pid_file.parent.parent
    wait_for(lambda: complete_checkpoints(run / "checkpoints"), timeout=600, what="a complete checkpoint")
    ranks = [_pid(run / "launch" / f"rank-{i}.pid") for i in (0, 1)]
    os.kill(ranks[1], signal.SIGKILL)
    _, crash_err = front.communicate(timeout=300)
    crashed = {"code": front.returncode, "stderr": crash_err, "state": read_state(run),
               "alive": [p for p in ranks if pid_alive(p)], "kept": complete_checkpoints(run / "checkpoints")[-1].name}
    resumed = tuitune("runs", "resume", run.name, "--json", env_home=home)
    single = tuitune("run", str(preset), *ONE_SPLIT, "-s", "train.batch_size=4", "--json", env_home=home)
    return home, run, crashed, resumed, single


def test_sigkill_of_one_rank_leaves_the_run_crashed_and_nothing_running(ddp_run):
    _, run, crashed, _, _ = ddp_run
    assert crashed["code"] == 1, crashed["stderr"][-3000:]
    state = crashed["state"]
    assert state["status"] == "crashed" and "rank 1 of 2" in state["message"], state
    assert f"continues from {crashed['kept']}" in state["message"]
    assert crashed["alive"] == [], "a rank outlived the run"
    assert "Traceback" not in crashed["stderr"]


def test_resume_finishes_and_two_processes_train_like_one(ddp_run):
    _, run, crashed, resumed, single = ddp_run
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]
    assert read_state(run)["status"] == "done" and (run / "adapter" / "adapter_model.safetensors").is_file()
    events = read_events(run / "events.jsonl")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # one writer at a time: rank 0
    assert any(e["type"] == "status" and e.get("status") == "resuming" and crashed["kept"] in e["checkpoint"]
               for e in events)
    launches = [e for e in events if e["type"] == "launch"]
    assert len(launches) == 2 and all(e["strategy"] == "ddp" and e["num_processes"] == 2 for e in launches)
    config = json.loads((run / "launch" / "accelerate.yaml").read_text())
    assert config["num_processes"] == 2 and config["distributed_type"] == "MULTI_GPU"
    steps = [e for e in events if e["type"] == "step"]
    assert all(e["world_size"] == 2 for e in steps)
    by_step = {e["step"]: e["loss"] for e in steps}  # the resumed attempt's value where both logged one
    assert sorted(by_step) == list(range(1, STEPS + 1))
    losses, reference = [by_step[k] for k in sorted(by_step)], step_losses(run_dir_from(single.stderr))
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
    # Same global batch, same rows, and a resume that restores each rank's RNG: DDP's mean over two
    # half-batches is the one-process batch's mean, up to summation order and per-token weighting.
    assert len(reference) == len(losses)
    for a, b in zip(losses, reference, strict=True):
        assert abs(a - b) <= 0.02 * abs(b) + 0.02, (losses, reference)


def test_export_merges_the_ddp_adapter(ddp_run):
    """The DDP run's adapter is an ordinary one: the export merges it into the base weights."""
    home, run, _, resumed, _ = ddp_run
    assert resumed.returncode == 0
    tuitune("export", run.name, "--quant", "q8_0", "--no-ollama", env_home=home)
    exported_gguf(run)
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["merge"]["from"] == "adapter"


def test_fsdp_on_the_cpu_trains_as_ddp_and_says_why(tmp_path, tiny_model_dir, small_data):
    """`distributed = "fsdp"` on the CPU: the same launch with an FSDP config, trained as DDP (neither
    accelerate nor torch's FSDP1 shard on a CPU), with a warning that says so; the run finishes."""
    preset = preset_for(tmp_path, tiny_model_dir, small_data, max_steps=2, save_steps=100)
    result = tuitune("run", str(preset), *ONE_SPLIT, "-s", "train.distributed=fsdp", "-s", "train.num_processes=2",
                     "-s", "train.batch_size=2", "--json", env_home=tmp_path / "home")
    assert result.returncode == 0, result.stderr[-3000:]
    run = run_dir_from(result.stderr)
    events = read_events(run / "events.jsonl")
    [launch] = [e for e in events if e["type"] == "launch"]
    assert launch["strategy"] == "fsdp" and launch["num_processes"] == 2
    assert "fsdp_config" in json.loads((run / "launch" / "accelerate.yaml").read_text())
    [warning] = [e for e in events if e["type"] == "warning" and e.get("code") == "fsdp_on_cpu"]
    assert "trains as DDP" in warning["message"]
    assert [e["world_size"] for e in events if e["type"] == "step"] == [2, 2]
    assert read_state(run)["status"] == "done"
