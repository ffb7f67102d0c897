"""The planner's terms for the methods beyond full / LoRA / QLoRA: what each trains, and the
activations it adds or removes. Read from PEFT 0.21's forwards; docs/planner.md, "Other methods",
writes each term out.

- DoRA (``Setup.dora``): a magnitude vector (d_out) per adapted projection. Its forward
  (peft/tuners/lora/dora.py) computes ``(m/‖W+BA‖ - 1) * base_out + m/‖W+BA‖ * lora_out`` with
  the trainable m, so autograd keeps both outputs (2 x d_out per token); the column norm builds
  W, BA and their sum as d_out x d_in matrices in the adapter dtype, one projection at a time.
- IA3: a learned scale on the outputs of k_proj and v_proj and on the input of down_proj (PEFT's
  mapping for Llama-style models); each multiply keeps the tensor it scales.
- prompt tuning: ``virtual_tokens x hidden`` learned embeddings, put in front of every sequence
  (Setup.tokens counts them); no projection adapted.
- prefix tuning: learned keys and values for every layer, ``virtual_tokens x layers x 2 x kv_dim``.
- freeze: full weights in fp32 (as full), gradients and optimizer state for the last
  ``trainable_layers`` layers only; the frozen layers below run without keeping activations.
"""

from __future__ import annotations

from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import Linear, ModelShape

IA3_OUTPUT = ("k_proj", "v_proj", "qkv_proj")  # scaled on their outputs
IA3_INPUT = ("down_proj",)  # scaled on its input (PEFT's feedforward_modules)


def trained_layers(shape: ModelShape, setup: Setup) -> int:
    """Decoder layers whose activations the backward needs."""
    if setup.method == "freeze":
        return min(setup.trainable_layers, shape.num_layers)
    return shape.num_layers


def layer_params(shape: ModelShape) -> int:
    """Parameters of one decoder layer (projections and norms)."""
    c = shape.components()
    return (c["attention"] + c["mlp"]) // shape.num_layers + shape.norms_per_layer * shape.hidden_size


def ia3_linears(shape: ModelShape) -> list[Linear]:
    return [lin for lin in shape.linears() if lin.name in IA3_OUTPUT + IA3_INPUT]


def trainable(shape: ModelShape, setup: Setup, adapted: list[Linear]) -> int | None:
    """Trainable parameters of the methods this module owns; None for plain full/LoRA/QLoRA."""
    m = setup.method
    if m == "freeze":
        return trained_layers(shape, setup) * layer_params(shape)
    if m == "ia3":
        return shape.num_layers * sum(lin.d_in if lin.name in IA3_INPUT else lin.d_out for lin in ia3_linears(shape))
    if m == "prompt_tuning":
        return setup.virtual_tokens * shape.hidden_size
    if m == "prefix_tuning":
        return setup.virtual_tokens * shape.num_layers * 2 * shape.kv_dim
    if setup.dora and m in ("lora", "qlora"):
        lora = shape.num_layers * sum(setup.lora_r * (lin.d_in + lin.d_out) for lin in adapted)
        return lora + shape.num_layers * sum(lin.d_out for lin in adapted)  # + magnitudes
    return None


def extra_bytes_per_token(shape: ModelShape, setup: Setup, adapted: list[Linear]) -> float:
    """Bytes one decoder layer keeps per token on top of what LoRA's terms count."""
    c, a = setup.c, setup.adapter_bytes
    if setup.method == "ia3":
        # k/v: the output (compute dtype) times the scale; down_proj: its input cast to the
        # scale's dtype first (peft/tuners/ia3/layer.py), then scaled.
        return sum(a * lin.d_in if lin.name in IA3_INPUT else c * lin.d_out for lin in ia3_linears(shape))
    if setup.dora and setup.method in ("lora", "qlora"):
        # The base output in the compute dtype; the LoRA output in the adapter's (x is cast to
        # it), or the compute dtype under autocast.
        lora_out = c if setup.uses_autocast else a
        return sum((c + lora_out) * lin.d_out for lin in adapted)
    return 0.0


def dora_norm_buffers(shape: ModelShape, setup: Setup, adapted: list[Linear]) -> float:
    """The column norm's working set: W (cast), BA and W + BA for the largest adapted projection."""
    if not (setup.dora and setup.method in ("lora", "qlora") and adapted):
        return 0.0
    return 3 * setup.adapter_bytes * max(lin.d_in * lin.d_out for lin in adapted)
