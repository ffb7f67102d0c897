"""Released configurations of models people tune, for the random-weight stand-ins of the
doctor's self-test and the benchmarks (speed and memory do not depend on the weights' values),
and for planning them by name. Light: plain dicts in ``config.json`` form."""

from __future__ import annotations

from tuitune.hardware.shapes import ModelShape, shape_from_config

_LLAMA3 = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128256,
           "rope_theta": 500000.0, "max_position_embeddings": 131072, "hidden_act": "silu",
           "rms_norm_eps": 1e-5}

CONFIGS: dict[str, dict] = {
    # meta-llama/Llama-3.1-8B, Llama-3.2-3B and Llama-3.2-1B config.json (rope scaling left out:
    # it changes no tensor's size).
    "llama-8b": {**_LLAMA3, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": False},
    "llama-3b": {**_LLAMA3, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 28,
                 "num_attention_heads": 24, "num_key_value_heads": 8, "tie_word_embeddings": True},
    "llama-1b": {**_LLAMA3, "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": True},
    # The CPU self-test's model: Llama's layout at toy size (grouped-query attention kept), with
    # SmolLM2's vocabulary so that the bundled tokenizer fits it exactly.
    "toy": {**_LLAMA3, "vocab_size": 49152, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 8192,
            "rope_theta": 10000.0, "tie_word_embeddings": True},
}

_QWEN25 = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "rope_theta": 1000000.0,
           "max_position_embeddings": 32768, "hidden_act": "silu", "rms_norm_eps": 1e-6}
_QWEN25_7B = {**_QWEN25, "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
              "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "tie_word_embeddings": False}
_QWEN25_1_5B = {**_QWEN25, "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960,
                "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2, "tie_word_embeddings": True}

HUB_CONFIGS: dict[str, dict] = {
    # The shipped presets' models (and their base and sibling releases of the same shape), as their
    # config.json on the hub gives them: the planner needs nothing else, so a person can plan a
    # preset before downloading 16 GB. A config in the Hugging Face cache still comes first.
    "meta-llama/Llama-3.1-8B-Instruct": CONFIGS["llama-8b"],
    "meta-llama/Llama-3.1-8B": CONFIGS["llama-8b"],
    "meta-llama/Llama-3.2-3B-Instruct": CONFIGS["llama-3b"],
    "meta-llama/Llama-3.2-3B": CONFIGS["llama-3b"],
    "meta-llama/Llama-3.2-1B-Instruct": CONFIGS["llama-1b"],
    "meta-llama/Llama-3.2-1B": CONFIGS["llama-1b"],
    "Qwen/Qwen2.5-7B-Instruct": _QWEN25_7B,
    "Qwen/Qwen2.5-7B": {**_QWEN25_7B, "max_position_embeddings": 131072},
    "Qwen/Qwen2.5-1.5B-Instruct": _QWEN25_1_5B,
    "Qwen/Qwen2.5-1.5B": {**_QWEN25_1_5B, "max_position_embeddings": 131072},
}


def hub_config(model_id: str) -> dict | None:
    """tuitune's copy of a known hub model's config.json (matched without regard to case), or None."""
    wanted = model_id.lower()
    return next((config for name, config in HUB_CONFIGS.items() if name.lower() == wanted), None)


LABELS = {"llama-8b": "Llama-3.1-8B", "llama-3b": "Llama-3.2-3B", "llama-1b": "Llama-3.2-1B", "toy": "toy Llama"}


def reference_shape(name: str) -> ModelShape:
    return shape_from_config(CONFIGS[name], f"{LABELS[name]} (reference config)")
