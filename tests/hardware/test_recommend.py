"""The recommendation: full, then LoRA, then QLoRA, the first that fits, with settings that fit."""

from __future__ import annotations

import pytest

from tests.helpers import CONFIGS, NVML_RECORDINGS
from tuitune.hardware import PlannerError
from tuitune.hardware.estimate import GiB
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.plan import check_preset, detect_gpu, parse_targets, recommend_for, setup_from_preset
from tuitune.hardware.recommend import recommend


def _shape(name):
    return load_shape(str(CONFIGS / name))


def test_small_model_on_a_4090_gets_full_fine_tuning():
    rec = recommend(_shape("Qwen2.5-0.5B"), 24 * GiB, seq_len=1024)
    assert rec.method == "full" and rec.chosen.fits
    s = rec.settings()
    assert s["batch_size"] * s["grad_accum"] >= 16 and s["max_seq_len"] == 1024
    assert rec.explanation.startswith("Full fine-tuning fits")


def test_8b_on_a_4090_gets_lora_and_says_why_not_full():
    rec = recommend(_shape("Llama-3.1-8B"), 24 * GiB, seq_len=1024)
    assert rec.method == "lora"
    assert "full fine-tuning would need" in rec.explanation
    assert [o.setup.method for o in rec.options] == ["full", "lora", "qlora"]
    assert rec.options[0].fits is False


def test_8b_on_12_gib_gets_qlora():
    rec = recommend(_shape("Llama-3.1-8B"), 12 * GiB, seq_len=1024)
    assert rec.method == "qlora" and rec.chosen.peak_bytes <= 0.9 * 12 * GiB


def test_nothing_fits_says_what_would():
    rec = recommend(_shape("Llama-3.1-8B"), 6 * GiB, seq_len=1024)
    assert rec.chosen is None and rec.settings() is None
    assert rec.explanation.startswith("Nothing fits")
    assert any("smaller model" in a for a in rec.advice) and any("more GPUs" in a for a in rec.advice)
    long = recommend(_shape("Qwen2.5-1.5B"), 6 * GiB, seq_len=65536)
    assert any("--seq-len" in a for a in long.advice)


def test_given_settings_are_kept():
    rec = recommend(_shape("Llama-3.1-8B"), 24 * GiB, batch=2, optimizer="paged_adamw_8bit", grad_checkpointing=True,
                    lora_r=64, lora_targets=("q_proj", "v_proj"))
    s = rec.settings()
    kept = (s["batch_size"], s["optimizer"], s["gradient_checkpointing"], s["lora_r"])
    assert kept == (2, "paged_adamw_8bit", True, 64)
    assert s["lora_targets"] == ["q_proj", "v_proj"] and s["grad_accum"] == 8


def test_checkpointing_is_off_when_a_decent_batch_fits_without():
    rec = recommend(_shape("SmolLM2-135M"), 24 * GiB, seq_len=512, methods=("lora",))
    assert rec.chosen.setup.grad_checkpointing is False and rec.chosen.setup.batch >= 4


def test_p99_length_is_used_when_the_longest_does_not_fit():
    shape = _shape("Llama-3.1-8B")
    rec = recommend(shape, 12 * GiB, seq_len=32768, seq_len_p99=2048, methods=("qlora",))
    assert rec.chosen.setup.seq_len == 2048 and "truncated" in rec.explanation


def test_without_a_gpu_there_are_estimates_but_no_choice():
    rec = recommend(_shape("Qwen2.5-7B"), None)
    assert rec.chosen is None and len(rec.options) == 3
    assert rec.to_dict()["recommended"] is None and rec.to_dict()["gpu_gb"] is None


def test_recommend_for_the_worker_takes_a_model_reference():
    rec = recommend_for(str(CONFIGS / "Qwen2.5-7B"), 80 * GiB, max_seq_len=2048)
    assert rec.method == "lora"  # full needs ~16 bytes per parameter: 7.6B x 16 > 72 GiB
    d = rec.to_dict()
    assert d["recommended"]["method"] == "lora" and d["recommended"]["max_seq_len"] == 2048


def test_detect_gpu_uses_free_memory_and_bf16():
    import json

    from tuitune.hardware.nvml import read_gpus
    from tuitune.hardware.nvml_replay import RecordedNvml

    free, bf16, text = detect_gpu(read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / "rtx4090.json").read_text()))))
    assert free == 20658192384 and bf16 and "used by others" in text
    none = detect_gpu(read_gpus(RecordedNvml({"init_error": 12})))
    assert none[0] is None and "NVML Shared Library Not Found" in none[2]


def test_parse_targets():
    assert parse_targets("all-linear") == "all-linear"
    assert parse_targets("q,v") == ("q_proj", "v_proj")
    assert parse_targets(["q_proj", "down_proj"]) == ("q_proj", "down_proj")
    with pytest.raises(PlannerError, match="unknown module lm_head"):
        parse_targets("q,lm_head")


def _preset(model_path: str, **train):
    from tuitune.preset import Preset

    return Preset.model_validate({"model": {"path": model_path}, "data": {"path": "x.jsonl"}, "train": train})


def test_preset_check_refuses_what_cannot_fit_unless_forced():
    preset = _preset(str(CONFIGS / "Llama-3.1-8B"), method="full")
    with pytest.raises(PlannerError, match="needs about .* GiB .*planner suggests.*'method': 'lora'.*--force"):
        check_preset(preset, 24 * GiB)
    assert check_preset(preset, 24 * GiB, force=True).fits is False
    ok = check_preset(_preset(str(CONFIGS / "Llama-3.1-8B"), method="qlora"), 24 * GiB)
    assert ok.fits


def test_setup_from_preset_resolves_autos_like_the_worker():
    setup = setup_from_preset(_preset("m", batch_size=8, max_seq_len=2048, grad_accum=2), bf16=False)
    assert (setup.method, setup.batch, setup.seq_len, setup.grad_accum) == ("lora", 8, 2048, 2)
    assert setup.grad_checkpointing and setup.compute == "fp16" and setup.lora_targets == "all-linear"


def test_preset_overrides_validate_as_a_preset():
    from tuitune.preset import parse_preset

    rec = recommend(_shape("Llama-3.1-8B"), 24 * GiB, seq_len=2048, lora_targets=("q_proj", "v_proj"))
    overrides = rec.preset_overrides()
    assert "train.method=\"lora\"" in overrides and 'lora.target_modules=["q_proj", "v_proj"]' in overrides
    text = '[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n'
    preset = parse_preset(text, overrides=overrides)
    got = (preset.train.method, preset.train.max_seq_len, preset.lora.target_modules)
    assert got == ("lora", 2048, ["q_proj", "v_proj"])
    assert recommend(_shape("Llama-3.1-8B"), 4 * GiB).preset_overrides() == []
