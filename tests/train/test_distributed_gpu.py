"""Real several-GPU runs (skipped without at least two CUDA GPUs): FSDP shards, its checkpoints
are per rank, the final adapter is a full one the export can merge, and each step reports every
rank's memory. The CPU half of the contract is tests/train/test_distributed.py."""

import json

import pytest

from tests.helpers import read_state, run_dir_from, tuitune, write_preset
from tuitune.events import read_events

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_gpus_train_one_run(strategy, tmp_path, tiny_model_dir, small_data):
    if _gpus() < 2:
        pytest.skip(f"needs 2 CUDA GPUs, {_gpus()} visible")
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data,
                          train={"device": "cuda", "max_steps": 6, "save_steps": 3, "max_seq_len": 64})
    result = tuitune("run", str(preset), "-s", f"train.distributed={strategy}", "-s", "train.num_processes=2", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    run = run_dir_from(result.stderr)
    assert read_state(run)["status"] == "done"
    steps = [e for e in read_events(run / "events.jsonl") if e["type"] == "step"]
    assert all(e["world_size"] == 2 and len(e["vram_per_rank"]) == 2 for e in steps)
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    config = json.loads((run / "launch" / "accelerate.yaml").read_text())
    assert config["distributed_type"] == ("FSDP" if strategy == "fsdp" else "MULTI_GPU")
    if strategy == "fsdp":  # sharded checkpoints: each rank wrote its part
        assert list((run / "checkpoints" / "checkpoint-6").glob("*fsdp*"))
