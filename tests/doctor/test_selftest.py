"""`tuitune doctor --train`: the real self-test on this machine (LoRA at toy size on the CPU, through
the training worker), and its verdicts on recorded GPU runs (events as a CUDA worker writes them)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NVML_RECORDINGS, tuitune
from tuitune.doctor import selftest
from tuitune.doctor.selftest import Case, Outcome
from tuitune.events import EventWriter
from tuitune.hardware.nvml import read_gpus
from tuitune.hardware.nvml_replay import RecordedNvml
from tuitune.hardware.reference import CONFIGS, reference_shape

GiB = 2**30


def test_the_self_test_trains_for_real_on_this_machine(tmp_path):
    result = tuitune("doctor", "--train", "--json", env_home=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == ["train lora", "memory lora", "speed lora"]
    assert checks["train lora"]["status"] == "ok" and "12 steps" in checks["train lora"]["message"]
    assert checks["memory lora"]["status"] == "skip"  # no GPU: the planner's figure is compared on CUDA only
    assert checks["speed lora"]["status"] == "ok" and "padding-free on" in checks["speed lora"]["message"]
    [run] = report["runs"]
    assert run["status"] == "done" and run["device"] == "cpu" and run["steps"] == 12
    assert run["last_loss"] < run["first_loss"]
    assert run["tokens_per_s"] > 0 and run["measured_peak_bytes"] > 0 and run["estimate_peak_bytes"] > 0
    # what the trainer really ran with, read back from it
    assert run["speed"]["engaged"] == {"attention": "sdpa", "padding_free": True, "liger": False,
                                       "fused_loss": True, "gradient_checkpointing": False,
                                       "activation_offloading": False}
    assert "self-test: lora on a random toy Llama" in result.stderr  # progress goes to stderr with --json
    # nothing left behind, and nothing among the user's runs
    assert list((tmp_path / "cache" / "doctor").iterdir()) == []
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_on_a_gpu_it_plans_lora_and_qlora_at_1b_shape():
    report = read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / "rtx4090.json").read_text())))
    lora, qlora = selftest.cases(report)
    assert (lora.method, qlora.method) == ("lora", "qlora")  # bitsandbytes is installed here
    assert lora.shape == qlora.shape == "llama-1b" and lora.device == "cuda"
    assert reference_shape("llama-1b").total_params == 1_235_814_400  # Llama-3.2-1B's count
    [cpu] = selftest.cases(read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / "no_driver.json").read_text()))))
    assert (cpu.method, cpu.shape, cpu.device) == ("lora", "toy", "cpu")


def test_every_row_of_its_data_fills_max_seq_len(tmp_path, tokenizer_dir):
    from transformers import AutoTokenizer

    from tuitune.data.tokenize import encode_all

    path = selftest.write_data(tmp_path / "d.jsonl", 256, 8)
    rows = [json.loads(line)["messages"] for line in path.read_text().splitlines()]
    assert len(rows) == 8 and len({json.dumps(r) for r in rows}) == 8  # distinct: nothing for dedup to drop
    encoded = encode_all(AutoTokenizer.from_pretrained(tokenizer_dir), rows, True)  # as the worker encodes them
    assert min(len(ids) for ids in encoded["input_ids"]) > 256


ENGAGED = {"attention": "flash_attention_2", "padding_free": True, "liger": True, "fused_loss": True,
           "gradient_checkpointing": True, "activation_offloading": False}
PLANNED = {"attention": "flash_attention_2", "padding_free": True, "liger": True, "packing": False,
           "reasons": {"attention": "CUDA with the flash-attn package", "liger": "CUDA with liger-kernel"}}


def recorded_cuda_run(tmp_path, peak_bytes: int | None, speed: dict):
    """A run of the GPU case as its worker leaves it: the preset prepare() writes, and events
    with a CUDA peak (the model folder holds only Llama-3.2-1B's config: the planner needs no weights)."""
    case = Case("lora", "llama-1b", "cuda", steps=4, batch=4, max_seq_len=1024)
    model = tmp_path / "model-llama-1b-cuda"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(CONFIGS["llama-1b"]))
    run = selftest.prepare(case, tmp_path)
    with EventWriter(run.events) as events:
        events.emit("speed", **speed)
        for step, loss in enumerate([11.9, 11.2, 10.4, 9.8], 1):
            events.emit("step", step=step, loss=loss, tokens_per_s=20000.0 + step)
        if peak_bytes:
            events.emit("memory", step=4, max_rss_bytes=3 * GiB, cuda_max_reserved_bytes=peak_bytes,
                        cuda_max_allocated_bytes=peak_bytes - GiB // 4)
    run.update_state(status="done", step=4)
    return case, run


def test_a_gpu_peak_is_held_against_the_planners_estimate(tmp_path):
    case, run = recorded_cuda_run(tmp_path, None, {**PLANNED, "engaged": ENGAGED})
    planned = selftest.outcome(case, run).estimate_bytes
    assert planned is not None and 2 * GiB < planned < 12 * GiB  # a 1B LoRA at 4 x 1024 tokens

    (tmp_path / "near").mkdir()
    case, run = recorded_cuda_run(tmp_path / "near", int(1.08 * planned), {**PLANNED, "engaged": ENGAGED})
    result = selftest.outcome(case, run)
    assert result.ratio == pytest.approx(1.08, abs=1e-3) and result.tokens_per_s == pytest.approx(20003.5)
    train, memory, speed = selftest.checks(result)
    assert train.status == "ok" and "loss 11.90 → 9.80" in train.message and "20,004 tokens/s" in train.message
    assert memory.status == "ok" and "(108%)" in memory.message
    assert speed.status == "ok" and "attention flash_attention_2, padding-free on, Liger on" in speed.message

    (tmp_path / "far").mkdir()
    case, run = recorded_cuda_run(tmp_path / "far", int(1.6 * planned), {**PLANNED, "engaged": ENGAGED})
    memory = selftest.checks(selftest.outcome(case, run))[1]
    assert memory.status == "warn" and "off by more than 25%" in memory.message and "(160%)" in memory.message
    assert selftest.outcome(case, run).to_json()["measured_over_estimate"] == pytest.approx(1.6, abs=1e-3)


def test_a_switch_that_did_not_take_fails_and_a_missing_kernel_warns(tmp_path):
    result = Outcome(Case("lora", "llama-1b", "cuda", 4, 4, 1024), "done", losses=[11.0, 9.0],
                     speed={**PLANNED, "engaged": {**ENGAGED, "liger": False}})
    speed = selftest.checks(result)[2]
    assert speed.status == "fail" and "Liger was chosen but is off" in speed.message

    no_kernels = {"attention": None, "padding_free": True, "liger": False,
                  "reasons": {"attention": "transformers' default, SDPA (flash-attn not installed)",
                              "liger": "liger-kernel not installed"}}
    result.speed = {**no_kernels, "engaged": {**ENGAGED, "attention": "sdpa", "liger": False}}
    speed = selftest.checks(result)[2]
    assert speed.status == "warn" and "Liger off (liger-kernel not installed)" in speed.message
    assert speed.fix == "faster: pip install liger-kernel; pip install flash-attn --no-build-isolation"


def test_a_failed_or_flat_run_fails_and_keeps_its_log(tmp_path):
    case = Case("qlora", "llama-1b", "cuda", 4, 4, 1024)
    [failed] = selftest.checks(Outcome(case, "failed", "out of memory at step 2", run=str(tmp_path)))
    assert failed.status == "fail" and "the run failed: out of memory at step 2" in failed.message
    assert failed.fix == f"its worker's log (kept): {tmp_path}/worker.log"
    flat = selftest.checks(Outcome(case, "done", losses=[11.0, 11.2], run=str(tmp_path)))[0]
    assert flat.status == "fail" and "the loss did not fall" in flat.message
