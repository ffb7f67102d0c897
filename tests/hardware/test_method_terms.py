"""The planner's terms for DoRA, IA3, prompt/prefix tuning and freeze (hardware/method_terms.py):
trainable counts against hand computation and PEFT, activations against autograd, and the
memory breakdown of each method against the same setup's LoRA or full one."""

from __future__ import annotations

import pytest

from tests.hardware.support import TINY, _shape
from tuitune.hardware.activations import activation_bytes, layer_bytes_per_token, lora_modules
from tuitune.hardware.estimate import estimate, trainable_params
from tuitune.hardware.method_terms import dora_norm_buffers
from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import shape_from_config


def test_trainable_counts_by_hand_on_llama_8b():
    s = _shape("Llama-3.1-8B")  # 32 layers, hidden 4096, kv 1024, intermediate 14336, vocab 128256
    lora = 32 * 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 2 + (14336 + 4096))
    assert trainable_params(s, Setup("lora")) == lora
    magnitudes = 32 * (4096 + 1024 + 1024 + 4096 + 14336 + 14336 + 4096)  # one per output row
    assert trainable_params(s, Setup("lora", dora=True)) == lora + magnitudes
    assert trainable_params(s, Setup("ia3")) == 32 * (1024 + 1024 + 14336)  # k, v outputs; down_proj input
    assert trainable_params(s, Setup("prompt_tuning", virtual_tokens=20)) == 20 * 4096
    assert trainable_params(s, Setup("prefix_tuning", virtual_tokens=20)) == 20 * 32 * 2 * 1024
    per_layer = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096  # projections + 2 norms
    assert trainable_params(s, Setup("freeze", trainable_layers=2)) == 2 * per_layer


def test_ia3_and_prompt_counts_match_peft_on_the_meta_device():
    pytest.importorskip("torch")
    from accelerate import init_empty_weights
    from peft import IA3Config, PrefixTuningConfig, PromptTuningConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = dict(TINY, model_type="llama", num_hidden_layers=3)
    shape = shape_from_config(config)
    for setup, peft_config in ((Setup("ia3"), IA3Config(task_type="CAUSAL_LM")),
                               (Setup("prompt_tuning", virtual_tokens=7),
                                PromptTuningConfig(num_virtual_tokens=7, task_type="CAUSAL_LM")),
                               (Setup("prefix_tuning", virtual_tokens=5),
                                PrefixTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"))):
        with init_empty_weights():
            model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config))
        peft_model = get_peft_model(model, peft_config)
        counted, _ = peft_model.get_nb_trainable_parameters()
        assert trainable_params(shape, setup) == counted, setup.method


def _saved_per_layer_token(config: dict, peft_config, dtype, autocast: bool, S: int = 48) -> float:
    """Bytes autograd saves per decoder layer and token (as tests/hardware/test_estimate.py counts
    them), with every saved tensor kept alive until counted: DoRA's column norm frees temporaries
    during the forward, whose storage would otherwise be reused under another tensor's address."""
    import contextlib

    import torch
    from peft import get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    results = {}
    for layers, batch in ((1, 2), (2, 2), (1, 4), (2, 4)):
        torch.manual_seed(0)
        cfg = AutoConfig.for_model(**{**config, "num_hidden_layers": layers})
        cfg._attn_implementation = "sdpa"
        model = get_peft_model(AutoModelForCausalLM.from_config(cfg).to(dtype), peft_config())
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        kept, storages = [], {}

        def pack(t, params=params, kept=kept, storages=storages):
            if t.untyped_storage().data_ptr() not in params:
                kept.append(t)
                storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        ids = torch.randint(0, config["vocab_size"], (batch, S))
        mask = torch.ones(batch, S, dtype=torch.long)
        mask[1, -5:] = 0
        amp = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), amp:
            model(input_ids=ids, attention_mask=mask, labels=ids)
        results[layers, batch] = sum(storages.values())
    return (results[2, 4] - results[1, 4] - results[2, 2] + results[1, 2]) / (2 * S)


@pytest.mark.parametrize("method", ["dora", "ia3"])
def test_dora_and_ia3_activations_match_autograd(method):
    torch = pytest.importorskip("torch")
    from peft import IA3Config, LoraConfig

    config = dict(TINY, model_type="llama")
    shape = shape_from_config({**config, "num_hidden_layers": 1})
    factory = {
        "dora": lambda: LoraConfig(r=8, target_modules="all-linear", lora_dropout=0.0, use_dora=True),
        "ia3": lambda: IA3Config(task_type="CAUSAL_LM"),
    }[method]
    # (weights, compute, autocast): the CPU's fp32 and tuitune's GPU stack (bf16 base + autocast)
    for weights, compute, autocast in ((torch.float32, "fp32", False), (torch.bfloat16, "bf16", True)):
        measured = _saved_per_layer_token(config, factory, weights, autocast)
        setup = Setup("lora" if method == "dora" else "ia3", seq_len=48, batch=2, compute=compute, adapter="fp32",
                      autocast=autocast, lora_dropout=0.0, lora_r=8, grad_checkpointing=False, device="cpu",
                      dora=method == "dora")
        assert layer_bytes_per_token(shape, setup) == measured, (weights, autocast)


def test_breakdowns_against_lora_and_full():
    s = _shape("Llama-3.1-8B")
    common = dict(seq_len=1024, batch=4, grad_checkpointing=False)
    lora = estimate(s, Setup("lora", **common))
    dora_setup = Setup("lora", dora=True, **common)
    # DoRA keeps two more d_out-wide outputs (bf16) per projection and token; its column norm
    # builds the largest weight (up/gate: 4096 x 14336) three times in the adapter's fp32.
    outs = 4096 + 1024 + 1024 + 4096 + 14336 + 14336 + 4096
    saved = activation_bytes(s, dora_setup)["saved"] - activation_bytes(s, Setup("lora", **common))["saved"]
    assert saved == 32 * (2 + 2) * outs * 4 * 1024  # bf16 base output + bf16 (autocast) LoRA output
    assert dora_norm_buffers(s, dora_setup, lora_modules(s, dora_setup)) == 3 * 4 * 4096 * 14336
    assert estimate(s, dora_setup).peak_bytes > lora.peak_bytes + saved

    full = estimate(s, Setup("full", **common))
    freeze = estimate(s, Setup("freeze", trainable_layers=2, **common))
    assert freeze.breakdown["weights"] == full.breakdown["weights"]  # fp32 masters, as full
    assert freeze.trainable_params < full.trainable_params / 10
    assert estimate(s, Setup("freeze", trainable_layers=2, **{**common, "optimizer": "adamw"})).phases[
        "optimizer_step"] < full.phases["optimizer_step"] / 2

    ia3 = estimate(s, Setup("ia3", **common))
    prompt = estimate(s, Setup("prompt_tuning", virtual_tokens=20, **common))
    for small in (ia3, prompt):
        assert small.trainable_params < 1e6
        assert small.breakdown["weights"] == lora.breakdown["weights"]  # the same 16-bit frozen base
        assert small.breakdown.get("optimizer_state", 0) < 2**23
    # Prompt tuning makes every sequence 20 tokens longer.
    plain = estimate(s, Setup("prompt_tuning", virtual_tokens=1, **common))
    assert prompt.phases["forward"] > plain.phases["forward"]
