"""Per-GPU memory of DDP, FSDP and ZeRO-3 against hand-computed terms, the layout the planner
recommends from recorded 2- and 4-GPU machines, and CUDA_VISIBLE_DEVICES matched by UUID."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CONFIGS, NVML_RECORDINGS
from tuitune.hardware.estimate import estimate
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.multi_gpu import per_gpu
from tuitune.hardware.nvml import read_gpus
from tuitune.hardware.nvml_replay import RecordedNvml
from tuitune.hardware.recommend_gpus import recommend_layout
from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import ModelShape
from tuitune.hardware.visible import visible_gpus

# hidden 64, intermediate 128, 2 layers, 4 heads of 16 (no GQA), vocab 1000, tied embeddings.
# One layer: q, k, v, o 64x64 = 4 x 4096, gate and up 64x128, down 128x64 = 3 x 8192, two norms
# of 64: 16384 + 24576 + 128 = 41088 parameters. The rest: embeddings 64000 + final norm 64.
SMALL = ModelShape("llama", 1000, 64, 128, 2, 4, 4, 16, True)
LAYER, REST = 41088, 64064
LLAMA_70B = ModelShape("llama", 128256, 8192, 28672, 80, 64, 8, 128, False)


def replay(name):
    return read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / name).read_text())))


def test_the_small_shape_is_what_the_comments_say():
    assert SMALL.total_params == 2 * LAYER + REST


def test_fsdp_shards_the_state_and_holds_two_layers_and_the_root():
    setup = Setup("full", seq_len=32, batch=1)  # fp32 master weights: 4 bytes each
    one = estimate(SMALL, setup)
    two = per_gpu(SMALL, setup, "fsdp", 2)
    backward = two.one.terms["layer_backward"]
    assert backward == one.terms["layer_backward"]
    # weights, gradients and optimizer state: half each; 2 x 146240 x 4 = 1169920 bytes of weights.
    assert two.phases["optimizer_step"] == pytest.approx(sum(one.terms["optimizer_step"].values()) / 2, abs=4)
    layer_backward = {k: v for k, v in two.phases.items()}["layer_backward"]
    gathered = 2 * LAYER * 4 + REST * 4  # 328704 + 256256: the layer computing, the one prefetched, the root
    unsharded_grads = 2 * LAYER * 4  # two layers' gradients waiting for their reduce-scatter
    sharded = sum(v / 2 if k in ("weights", "gradients", "optimizer_state") else v for k, v in backward.items())
    assert layer_backward == pytest.approx(sharded + gathered + unsharded_grads, abs=8)
    assert gathered == 584960 and unsharded_grads == 328704


def test_zero3_gathers_one_layer_and_its_prefetch_bucket():
    setup = Setup("full", seq_len=32, batch=1)
    z = per_gpu(SMALL, setup, "zero3", 4)
    f = per_gpu(SMALL, setup, "fsdp", 4)
    # one layer (164352 B) + 0.9 x 64² parameters of prefetch (14745.6 B), and a 64² fp32 reduce bucket.
    assert z.phases["layer_backward"] - f.phases["layer_backward"] == pytest.approx(
        (LAYER * 4 + 0.9 * 4096 * 4 + 4096 * 4) - (2 * LAYER * 4 + REST * 4 + 2 * LAYER * 4), abs=8)


def test_ddp_is_a_full_replica_plus_the_gradient_buckets():
    shape = load_shape(str(CONFIGS / "Llama-3.1-8B"))
    setup = Setup("lora", seq_len=1024, batch=2)
    one, ddp = estimate(shape, setup), per_gpu(shape, setup, "ddp", 4)
    buckets = one.trainable_params * 4  # fp32 LoRA gradients, copied once into DDP's buckets
    for phase, terms in one.terms.items():
        assert ddp.phases[phase] == sum(terms.values()) + buckets
    assert ddp.breakdown["ddp_buckets"] == buckets


def test_sharding_over_more_gpus_needs_less_per_gpu():
    setup = Setup("qlora", seq_len=512, batch=1)
    peaks = [per_gpu(LLAMA_70B, setup, "fsdp", n).peak_bytes for n in (2, 4, 8)]
    assert peaks[0] > peaks[1] > peaks[2]
    # what never shrinks: the root unit (embeddings and LM head, 2 x 128256 x 8192 in bf16 = 3.9 GiB)
    assert per_gpu(LLAMA_70B, setup, "fsdp", 8).breakdown["gathered_root"] == 2 * 128256 * 8192 * 2 + 8192 * 2


def test_two_3090s_get_ddp_for_an_8b_lora_with_half_the_accumulation():
    free = [g.memory_free for g in replay("2x_rtx3090.json").gpus]
    layout = recommend_layout(load_shape(str(CONFIGS / "Llama-3.1-8B")), free, seq_len=1024, target_batch=16)
    single = layout.single.chosen.setup
    assert layout.strategy == "ddp" and layout.gpus == 2 and layout.fits
    s = layout.setup
    assert s.method == single.method == "lora" and s.batch * s.grad_accum * 2 == 16
    assert layout.per_gpu.peak_bytes <= 0.9 * min(free)
    assert "train.distributed=ddp" in layout.preset_overrides() and "train.num_processes=2" in layout.preset_overrides()


def test_a_70b_does_not_fit_two_3090s_even_sharded_and_says_what_would():
    free = [g.memory_free for g in replay("2x_rtx3090.json").gpus]
    layout = recommend_layout(LLAMA_70B, free, seq_len=512)
    assert not layout.fits and layout.strategy == "fsdp"
    assert layout.per_gpu.peak_bytes > 0.9 * min(free)
    assert any("offload" in a for a in layout.advice)


def test_four_a100s_shard_a_70b_lora_with_fsdp_when_one_card_cannot_hold_it():
    free = [g.memory_free for g in replay("4x_a100_80gb.json").gpus]
    layout = recommend_layout(LLAMA_70B, free, seq_len=1024, methods=("full", "lora"))
    assert layout.single.chosen is None  # LoRA's 16-bit 70B (131 GiB) fits no single card
    assert layout.strategy == "fsdp" and layout.gpus == 4 and layout.fits
    assert layout.setup.method == "lora" and layout.min_gpus in (3, 4)
    assert layout.per_gpu.peak_bytes <= 0.9 * min(free)
    assert "train.distributed=fsdp" in layout.preset_overrides()


def test_cuda_visible_devices_is_matched_by_uuid():
    report = replay("4x_a100_80gb.json")
    uuids = [g.uuid for g in report.gpus]
    assert [g.uuid for g in visible_gpus(report, {}).gpus] == uuids
    # UUIDs (or unique prefixes), in CUDA's order: cuda:0 is the card listed first.
    seen = visible_gpus(report, {"CUDA_VISIBLE_DEVICES": f"{uuids[2]},{uuids[0][:12]}"})
    assert [g.uuid for g in seen.gpus] == [uuids[2], uuids[0]] and seen.cuda_index(report.gpus[2]) == 0
    assert [g.uuid for g in seen.hidden] == [uuids[1], uuids[3]]
    # numbers; the list ends at the first entry that names no card, as in CUDA
    seen = visible_gpus(report, {"CUDA_VISIBLE_DEVICES": "3,1,7,0"})
    assert [g.index for g in seen.gpus] == [3, 1] and "'7' names no GPU" in seen.notes[0]
    assert visible_gpus(report, {"CUDA_VISIBLE_DEVICES": ""}).gpus == []


def test_tuitune_gpus_lists_every_card_by_uuid_and_its_cuda_index(monkeypatch, capsys):
    from tuitune.cli.hardware import cmd_gpus

    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "2x_rtx3090.json"))
    report = replay("2x_rtx3090.json")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", report.gpus[1].uuid)
    assert cmd_gpus(type("A", (), {"record": None, "json": False})()) == 0
    out = capsys.readouterr().out
    assert f"uuid         {report.gpus[0].uuid} (hidden by CUDA_VISIBLE_DEVICES)" in out
    assert f"uuid         {report.gpus[1].uuid} (visible as cuda:0)" in out
    assert cmd_gpus(type("A", (), {"record": None, "json": True})()) == 0
    data = json.loads(capsys.readouterr().out)
    assert [g["cuda_index"] for g in data["gpus"]] == [None, 0] and data["visible"] == [report.gpus[1].uuid]


def test_the_tui_home_shows_each_gpus_memory_and_which_cuda_hides(monkeypatch):
    from tuitune.tui.hardware_info import gpu_lines

    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "4x_a100_80gb.json"))
    report = replay("4x_a100_80gb.json")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", f"{report.gpus[0].uuid},{report.gpus[1].uuid}")
    lines = [line for line in gpu_lines() if line.startswith("GPU ")]
    assert len(lines) == 4 and all("79.6 of 80.0 GiB free" in line for line in lines)
    assert [("hidden by CUDA_VISIBLE_DEVICES" in line) for line in lines] == [False, False, True, True]
