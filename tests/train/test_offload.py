"""Activation offloading (`train.activation_offloading`): a real CPU run through the switch, the
hooks that stand in for TRL's CUDA-only manager there (checked against the planner's count),
how `auto` decides, and TRL's own manager on a GPU."""

import pytest

from tests.helpers import tuitune, write_preset
from tuitune.hardware.estimate import GiB
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.plan import offloading_estimates
from tuitune.hardware.setup import Setup
from tuitune.preset import TrainSection, load_preset
from tuitune.train.speed import SpeedSettingError, choose_offloading

LLAMA_8B = "tests/hardware/configs/Llama-3.1-8B"


def test_offloaded_cpu_run_trains_and_says_so(tmp_path, tiny_model_dir, small_data):
    from tuitune.events import EventWriter, read_events
    from tuitune.runs.event_text import describe
    from tuitune.runs.store import create_run
    from tuitune.train.sft import train_sft

    preset = load_preset(write_preset(
        tmp_path / "offload.toml", tiny_model_dir, small_data,
        train={"max_steps": 6, "batch_size": 4, "save_steps": 100, "activation_offloading": True,
               "gradient_checkpointing": True},
    ), ["data.val_fraction=0.0"])
    run = create_run(preset)
    with EventWriter(run.events) as events:
        assert train_sft(run, preset, events) == "done"
    events = read_events(run.events)
    speed = next(e for e in events if e["type"] == "speed")
    assert speed["activation_offloading"] is True and speed["offload_by"] == "saved_tensor_hooks"
    assert "saved-tensor hooks" in speed["reasons"]["activation_offloading"]
    assert speed["engaged"]["activation_offloading"] is True  # read back from the trainer
    assert "activation offloading on (set in the preset" in describe(speed)
    # The hooks really sat in TRL's training step: the checkpointed layers' inputs went through them.
    offload = next(e for e in events if e["type"] == "offload")
    assert offload["peak_bytes"] > 2 * 64 * 4 * 4  # at least two layer inputs of a few fp32 tokens
    losses = [e["loss"] for e in events if e["type"] == "step"]
    assert len(losses) == 6 and sum(losses[-2:]) < sum(losses[:2])
    shown = tuitune("runs", "show", run.id).stdout
    assert "activation offloading on" in shown and "went through the offload hooks" in shown


@pytest.mark.parametrize("checkpointing", [True, False])
def test_hooks_hold_what_the_planner_puts_in_cpu_ram(checkpointing):
    """One more decoder layer adds to the offloaded bytes exactly what the planner counts as that
    layer's saved activations: its input under checkpointing, its whole forward's saves without."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from tuitune.hardware.activations import layer_bytes_per_token
    from tuitune.hardware.shapes import shape_from_config
    from tuitune.train.offload import HostOffload

    config = dict(model_type="llama", vocab_size=256, hidden_size=128, intermediate_size=352, num_attention_heads=4,
                  num_key_value_heads=2)
    batch, seq = 2, 64
    peaks = {}
    for layers in (2, 4):
        torch.manual_seed(0)
        cfg = AutoConfig.for_model(**config, num_hidden_layers=layers)
        cfg._attn_implementation = "sdpa"
        model = AutoModelForCausalLM.from_config(cfg)
        model.train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        hooks = HostOffload(model)
        ids = torch.randint(0, 256, (batch, seq))
        mask = torch.ones_like(ids)
        mask[0, -3:] = 0  # a padded batch, as the planner's worst case counts it (a mask row, k/v repeated)
        with hooks:
            model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float().mean().backward()
        assert hooks.live_bytes == 0  # every offloaded tensor came back in the backward
        peaks[layers] = hooks.peak_bytes
    shape = shape_from_config({**config, "num_hidden_layers": 2})
    setup = Setup("full", seq_len=seq, batch=batch, compute="fp32", device="cpu", grad_checkpointing=checkpointing)
    per_layer = (shape.hidden_size * 4 if checkpointing else layer_bytes_per_token(shape, setup)) * batch * seq
    assert (peaks[4] - peaks[2]) / 2 == pytest.approx(per_layer, rel=0.02)


def test_planner_moves_the_saved_activations_to_cpu_ram():
    shape = load_shape(LLAMA_8B)
    setup = Setup("qlora", seq_len=32768, batch=1, lora_r=32, attention="flash_attention_2")
    without, offloaded = offloading_estimates(shape, setup, 24 * GiB)
    layer_input = 2 * shape.hidden_size * setup.tokens  # bf16 residual stream
    # Without: the 31 layers below the top one keep their inputs through its backward.
    assert without.phase == "layer_backward" and not without.fits
    assert without.peak_bytes - offloaded.peak_bytes > 0.9 * (shape.num_layers - 3) * layer_input
    assert offloaded.fits and without.host_bytes == 0
    # Pinned host blocks are powers of two: 32768 tokens x 4096 x 2 bytes is exactly 256 MiB.
    assert offloaded.host_bytes >= (shape.num_layers + 2) * 256 * 2**20
    assert any("pinned CPU RAM" in note for note in offloaded.notes)
    assert offloaded.to_dict()["host_ram_gb"] == pytest.approx(offloaded.host_bytes / GiB, abs=0.01)


def test_recommend_offloads_only_when_the_context_needs_it():
    from tuitune.hardware.recommend import recommend

    shape = load_shape(LLAMA_8B)
    short = recommend(shape, 24 * GiB, seq_len=4096, lora_r=32, attention="flash_attention_2")
    assert short.chosen and not short.chosen.setup.activation_offloading
    long = recommend(shape, 24 * GiB, seq_len=32768, lora_r=32, attention="flash_attention_2")
    assert long.chosen and long.chosen.setup.activation_offloading and long.chosen.setup.grad_checkpointing
    assert "train.activation_offloading=true" in long.preset_overrides()
    assert "CPU RAM" in long.explanation
    refused = recommend(shape, 24 * GiB, seq_len=32768, lora_r=32, attention="flash_attention_2",
                        activation_offloading=False)
    assert refused.chosen is None
    assert not recommend(shape, 24 * GiB, seq_len=32768, stage="dpo").options[-1].setup.activation_offloading


def test_auto_decides_by_the_planner_and_true_fails_clearly_without_the_ram():
    shape = load_shape(LLAMA_8B)
    auto = TrainSection()
    setup = Setup("qlora", batch=1, lora_r=32, attention="flash_attention_2")
    fits = offloading_estimates(shape, setup.with_(seq_len=4096), 24 * GiB)
    needs = offloading_estimates(shape, setup.with_(seq_len=32768), 24 * GiB)
    hopeless = offloading_estimates(shape, setup.with_(seq_len=200_000), 24 * GiB)
    plenty = 256 * GiB
    assert choose_offloading(auto, cuda=True, planned=fits, host_free=plenty)[0] is False
    on, why = choose_offloading(auto, cuda=True, planned=needs, host_free=plenty)
    assert on and "without it" in why and "pinned CPU RAM" in why
    assert choose_offloading(auto, cuda=True, planned=hopeless, host_free=plenty)[0] is False
    on, why = choose_offloading(auto, cuda=True, planned=needs, host_free=4 * GiB)
    assert not on and "available" in why
    assert choose_offloading(auto, cuda=False, planned=None, host_free=None) == (
        False, "no CUDA GPU: the activations are in CPU memory already")
    with pytest.raises(SpeedSettingError, match=r"train.activation_offloading = true: .* GiB of pinned CPU RAM .* "
                                                r"lower train.max_seq_len"):
        choose_offloading(TrainSection(activation_offloading=True), cuda=True, planned=needs, host_free=4 * GiB)


def test_preset_key_validates_and_is_for_sft():
    from tuitune.preset import PresetError, parse_preset

    base = '[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n[train]\n'
    assert parse_preset(base).train.activation_offloading == "auto"
    with pytest.raises(PresetError, match="train.activation_offloading"):
        parse_preset(base + 'activation_offloading = "sometimes"\n')
    with pytest.raises(PresetError, match="activation_offloading = true works with stage 'sft' only"):
        parse_preset(base + 'stage = "dpo"\nactivation_offloading = true\n')


@pytest.mark.gpu
def test_trl_manager_offloads_on_cuda(tiny_model_dir):
    """The CUDA path is TRL's own manager: with it, the GPU keeps far less of the forward's saves
    (the backbone's; the head's logits would be the same either way)."""
    import torch
    from transformers import AutoModelForCausalLM
    from trl.models.activation_offloading import get_act_offloading_ctx_manager

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).cuda().train()
    ids = torch.randint(0, 1000, (4, 2048), device="cuda")
    peaks = []
    for context in (None, get_act_offloading_ctx_manager(model)):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        if context is None:
            loss = model.model(input_ids=ids, use_cache=False).last_hidden_state.float().mean()
            after_forward = torch.cuda.memory_allocated() - base
        else:
            with context:
                loss = model.model(input_ids=ids, use_cache=False).last_hidden_state.float().mean()
                torch.cuda.synchronize()
                after_forward = torch.cuda.memory_allocated() - base
        peaks.append(after_forward)
        loss.backward()
        model.zero_grad(set_to_none=True)
    assert peaks[1] < 0.5 * peaks[0]
