"""The fast path: what `auto` picks on each kind of machine, and that padding-free training
learns exactly what padded training learns."""


import json

import pytest

from tests.helpers import write_preset
from tuitune.preset import TrainSection, load_preset
from tuitune.train.speed import Available, SpeedSettingError, choose_speed

CPU = Available(cuda=False)
GPU_PLAIN = Available(cuda=True)
GPU_FULL = Available(cuda=True, flash_attn=True, liger=True, liger_types=frozenset({"llama", "qwen2"}))


def choose(available=CPU, device="cpu", precision="fp32", model_type="llama", remote=False, **train):
    return choose_speed(TrainSection(**train), device=device, precision=precision, model_type=model_type,
                        trust_remote_code=remote, available=available)


def test_cpu_defaults_are_padding_free_sdpa_without_liger():
    plan = choose()
    assert plan.padding_free and not plan.group_by_length and not plan.packing
    assert plan.attention is None and "SDPA" in plan.reasons["attention"]  # transformers' default
    assert not plan.liger and plan.reasons["liger"] == "no CUDA GPU"
    assert plan.sft_config_kwargs(1024)["max_length"] is None  # we truncate: TRL refuses otherwise
    assert not plan.pin_memory


def test_gpu_with_flash_attn_and_liger_uses_both():
    plan = choose(GPU_FULL, device="cuda", precision="bf16", batch_size=8, max_seq_len=4096)
    assert plan.attention == "flash_attention_2" and plan.liger and plan.padding_free and plan.pin_memory
    unsupported = choose(GPU_FULL, device="cuda", precision="bf16", model_type="phi3")
    assert not unsupported.liger and "phi3" in unsupported.reasons["liger"]


def test_gpu_without_flash_attn_keeps_dense_masks_small():
    assert choose(GPU_PLAIN, device="cuda", precision="bf16", batch_size=4, max_seq_len=1024).padding_free
    big = choose(GPU_PLAIN, device="cuda", precision="bf16", batch_size=4, max_seq_len=2048)
    assert not big.padding_free and big.group_by_length and "dense mask" in big.reasons["padding_free"]
    assert choose(GPU_FULL, device="cuda", precision="bf16", batch_size=4, max_seq_len=2048).padding_free
    assert choose(GPU_PLAIN, device="cuda", precision="bf16").reasons["liger"] == "liger-kernel not installed"


@pytest.mark.parametrize("settings, padded_because", [
    ({"remote": True}, "not known"), ({"model_type": "mystery"}, "not known"), ({"batch_size": 1}, "one example"),
])
def test_padding_free_auto_stays_off_where_it_cannot_help_or_be_trusted(settings, padded_because):
    plan = choose(**settings)
    assert not plan.padding_free and plan.group_by_length
    assert padded_because in plan.reasons["padding_free"]


def test_explicit_switches_win_or_fail_clearly():
    plan = choose(padding_free=False, group_by_length=False, attn_implementation="eager")
    assert (plan.padding_free, plan.group_by_length, plan.attention) == (False, False, "eager")
    assert choose(packing=True, padding_free=False).padding_free  # packed rows are padding-free in TRL
    with pytest.raises(SpeedSettingError, match="train.liger = true needs a CUDA GPU"):
        choose(liger=True)
    with pytest.raises(SpeedSettingError, match="flash-attn"):
        choose(GPU_PLAIN, device="cuda", precision="bf16", attn_implementation="flash_attention_2")


def _train(tmp_path, model_dir, data_path, name, **train):
    from tuitune.events import EventWriter, read_events
    from tuitune.runs.store import create_run
    from tuitune.train.sft import train_sft

    preset = load_preset(write_preset(
        tmp_path / f"{name}.toml", model_dir, data_path,
        train={"max_steps": 4, "batch_size": 6, "save_steps": 100, "group_by_length": False, **train},
    ), ["data.val_fraction=0.0"])
    run = create_run(preset)
    with EventWriter(run.events) as events:
        assert train_sft(run, preset, events) == "done"
    events = read_events(run.events)
    speed = next(e for e in events if e["type"] == "speed")
    steps = [e for e in events if e["type"] == "step"]
    memory = next(e for e in events if e["type"] == "memory")
    return speed, [e["loss"] for e in steps], [e["grad_norm"] for e in steps], memory


def test_padding_free_training_matches_padded_training(tmp_path, tiny_model_dir, small_data, tuitune_home):
    """Same examples, order and initial weights: if examples attended across their boundaries in
    the flattened row, or padding were counted, the losses would differ."""
    padded, padded_losses, padded_norms, padded_memory = _train(tmp_path, tiny_model_dir, small_data, "padded",
                                                                padding_free=False)
    free, free_losses, free_norms, free_memory = _train(tmp_path, tiny_model_dir, small_data, "free")
    assert (padded["padding_free"], free["padding_free"]) == (False, True)
    assert free["attention"] == padded["attention"] == "sdpa"
    # read back from the trainer, not the plan: the collator is padding-free, no kernel patched
    assert (padded["engaged"]["padding_free"], free["engaged"]["padding_free"]) == (False, True)
    assert free["engaged"] == {"attention": "sdpa", "padding_free": True, "liger": False, "fused_loss": True,
                               "activation_offloading": False,
                               "gradient_checkpointing": free["engaged"]["gradient_checkpointing"]}
    assert len(free_losses) == len(padded_losses) == 4
    assert free_losses == pytest.approx(padded_losses, rel=1e-4)
    assert free_norms == pytest.approx(padded_norms, rel=1e-3)
    assert free_losses[-1] < free_losses[0]  # and it trains
    # The largest micro-batch, which the planner's calibration compares at: the same rows, padded
    # to their longest or laid end to end (fewer tokens), never past batch x max_seq_len.
    assert 0 < free_memory["max_batch_tokens"] < padded_memory["max_batch_tokens"] <= 6 * 128
    assert padded_memory["max_batch_tokens"] % 6 == 0
    # The CPU has no card to calibrate: nothing is recorded
    assert "cuda_max_reserved_bytes" not in free_memory
    assert not (tuitune_home / "calibration").exists()


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_padding_free_examples_do_not_see_each_other(tiny_model_dir, attention):
    """TRL's padding-free collator puts examples end to end; each must get the logits it gets alone."""
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation=attention).eval()
    examples = [{"input_ids": list(range(5, 25))}, {"input_ids": list(range(100, 131))}, {"input_ids": [7, 8, 9]}]
    batch = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=True)(examples)
    assert batch["input_ids"].shape == (1, 54) and "attention_mask" not in batch
    with torch.no_grad():
        flat = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        start = 0
        for example in examples:
            alone = model(input_ids=torch.tensor([example["input_ids"]]), use_cache=False).logits[0]
            assert torch.allclose(flat[start:start + len(alone)], alone, atol=1e-5)
            start += len(alone)


@pytest.mark.parametrize("method, weights", [("full", "fp32"), ("lora", "bf16")])
def test_planner_counts_what_a_padding_free_layer_keeps(method, weights):
    """The planner's padding-free activation term against autograd: the bytes one more decoder
    layer saves when a micro-batch is flattened (SDPA, block-diagonal mask from position ids)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from tuitune.hardware.activations import layer_bytes_per_token
    from tuitune.hardware.setup import Setup
    from tuitune.hardware.shapes import shape_from_config

    config = dict(model_type="llama", vocab_size=256, hidden_size=128, intermediate_size=352, num_attention_heads=4,
                  num_key_value_heads=2)
    batch, seq = 3, 32
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[weights]
    saved = {}
    for layers in (1, 2):
        torch.manual_seed(0)
        cfg = AutoConfig.for_model(**config, num_hidden_layers=layers)
        cfg._attn_implementation = "sdpa"
        model = AutoModelForCausalLM.from_config(cfg).to(dtype)
        if method == "lora":
            from peft import LoraConfig, get_peft_model

            model = get_peft_model(model, LoraConfig(r=8, target_modules="all-linear", lora_dropout=0.0))
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        storages: dict[int, int] = {}

        def pack(t, params=params, storages=storages):
            if t.untyped_storage().data_ptr() not in params:
                storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        ids = torch.randint(0, 256, (1, batch * seq))
        positions = torch.arange(seq).repeat(batch)[None]  # three examples end to end, as TRL's collator lays them
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(input_ids=ids, position_ids=positions, labels=ids, use_cache=False)  # as in training
        saved[layers] = sum(storages.values())
    measured = (saved[2] - saved[1]) / (batch * seq)
    setup = Setup(method, seq_len=seq, batch=batch, compute=weights, weights=weights if method == "full" else None,
                  adapter="fp32" if method == "lora" else None, autocast=False, lora_dropout=0.0, lora_r=8,
                  grad_checkpointing=False, device="cpu", padding_free=True)
    shape = shape_from_config({**config, "num_hidden_layers": 1})
    assert layer_bytes_per_token(shape, setup) == pytest.approx(measured, rel=0.02)


@pytest.mark.gpu
def test_a_cuda_run_adds_its_peak_to_the_planners_calibration(tmp_path, tiny_model_dir, small_data, tuitune_home):
    """The loop's worker half on a real card: the run's measured peak, against the planner's
    estimate of its largest micro-batch, lands in runs.jsonl under NVML's name of the card."""
    from tests.helpers import tuitune
    from tuitune.hardware.calibration import for_gpu
    from tuitune.hardware.nvml import read_gpus

    preset = write_preset(tmp_path / "cuda.toml", tiny_model_dir, small_data, train={"device": "cuda", "max_steps": 4})
    result = tuitune("run", str(preset), "--json", env_home=tuitune_home)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = (tuitune_home / "calibration" / "runs.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["gpu"] in [g.name for g in read_gpus().gpus] and record["method"] == "lora"
    assert record["measured_reserved_bytes"] > 0 and record["predicted_reserved_bytes"] > 0
    assert 0 < record["max_batch_tokens"] <= 4 * 128
    assert for_gpu(record["gpu"]).for_method("lora").runs == 1
