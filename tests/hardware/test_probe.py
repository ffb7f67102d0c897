"""The probe: refuses without a GPU; its throwaway worker runs real SFT steps (on the CPU here,
on CUDA under the `gpu` marker) and the measurement lands in the calibration log."""

from __future__ import annotations

import json

import pytest

from tuitune.hardware import PlannerError
from tuitune.hardware.estimate import estimate
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.nvml import read_gpus
from tuitune.hardware.nvml_replay import RecordedNvml
from tuitune.hardware.probe import require_gpu, run_probe, run_worker
from tuitune.hardware.setup import Setup


def test_require_gpu_explains_the_cpu_only_machine():
    with pytest.raises(PlannerError, match="needs an NVIDIA GPU with CUDA.*Library Not Found"):
        require_gpu(read_gpus(RecordedNvml({"init_error": 12})))


@pytest.mark.slow
def test_probe_worker_measures_real_steps_on_the_cpu(tiny_model_dir, tuitune_home):
    est = estimate(load_shape(str(tiny_model_dir)),
                   Setup("lora", seq_len=32, batch=2, device="cpu", compute="fp32", grad_checkpointing=False))
    result = run_probe(str(tiny_model_dir), est, device="cpu", steps=2, search=False)
    m = result.measured
    assert m["fits"] is True and (m["batch"], m["seq_len"]) == (2, 32)
    assert len(m["step_seconds"]) == 2 and m["tokens_per_second"] > 0 and m["max_rss"] > 0
    assert result.largest_batch == 2
    # It trains as `tuitune run` would (train/sft.py sft_trainer): for a Llama with 2 rows a batch
    # on this CPU, SDPA, rows laid end to end (padding-free), no length grouping, no Liger.
    speed = m["speed"]
    assert (speed["attention"], speed["padding_free"], speed["group_by_length"], speed["liger"]) == \
        ("sdpa", True, False, False)
    assert "padding_free" in speed["reasons"]
    log = (tuitune_home / "calibration" / "probes.jsonl").read_text().splitlines()
    record = json.loads(log[-1])
    assert record["model"] == str(tiny_model_dir) and record["settings"]["method"] == "lora"


@pytest.mark.slow
def test_a_failing_worker_is_reported_not_raised(tmp_path):
    spec = {"model": str(tmp_path / "missing"), "method": "lora", "seq_len": 16, "batch": 1,
            "grad_checkpointing": False, "optimizer": "adamw", "lora_r": 8, "lora_dropout": 0.0,
            "lora_targets": "all-linear", "precision": "fp32", "device": "cpu", "steps": 1}
    result = run_worker(spec, timeout=300)
    assert result["fits"] is None and "probe worker exited" in result["error"]


@pytest.mark.gpu
def test_probe_on_a_real_gpu(tiny_model_dir):
    est = estimate(load_shape(str(tiny_model_dir)), Setup("lora", seq_len=256, batch=2))
    result = run_probe(str(tiny_model_dir), est, steps=3, search=True)
    m = result.measured
    assert m["fits"] and m["torch_max_reserved"] >= m["torch_max_allocated"] > 0
    assert result.largest_batch >= 2 and result.nvml_used is not None
