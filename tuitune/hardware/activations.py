"""Activation memory: what autograd keeps per decoder layer and token, and the loss buffers.

Counted tensor by tensor from the transformers 5 decoder layer (RMSNorm upcasts to fp32, SDPA
keeps q/k/v/out and a log-sum-exp, the gated MLP keeps four intermediate-sized tensors) and from
PEFT's LoRA forward. docs/planner.md writes each term out with its source.
"""

from __future__ import annotations

import math

from tuitune.hardware.method_terms import extra_bytes_per_token, trained_layers
from tuitune.hardware.setup import Setup
from tuitune.hardware.shapes import Linear, ModelShape

# TRL 1.16's chunked LM head (trl/kernels/chunked_logprob.py): tiles of 4096 tokens x 32768 vocab.
FUSED_TOKEN_CHUNK = 4096
FUSED_VOCAB_CHUNK = 32768
# TRL 1.16's activation offloading (trl/models/activation_offloading.py, OffloadActivations): a
# saved tensor stays on the GPU until its copy to the host has finished, for the last
# `max_fwd_stash_size` = 5 tensors saved; in the backward the tensors brought back for one autograd
# node are freed when the next node starts. Of the forward's last five, the head keeps three
# (final norm's fp32 copy and output, the head's input), which leaves two of the layers' tensors.
OFFLOAD_IN_FLIGHT_TENSORS = 2


def lora_modules(shape: ModelShape, setup: Setup) -> list[Linear]:
    """The projections of one layer that get an adapter."""
    layer = shape.linears()
    if setup.method not in ("lora", "qlora"):  # full and freeze train the weights; the rest no projection
        return []
    targets = setup.lora_targets
    if targets == "all-linear":
        return layer
    wanted = set(targets)
    # `q,k,v` on a fused model (Phi-3) means its qkv_proj; gate/up mean gate_up_proj.
    if shape.fused and wanted & {"q_proj", "k_proj", "v_proj"}:
        wanted.add("qkv_proj")
    if shape.fused and wanted & {"gate_proj", "up_proj"}:
        wanted.add("gate_up_proj")
    return [lin for lin in layer if lin.name in wanted]


def attention_impl(shape: ModelShape, setup: Setup) -> str:
    if setup.attention != "auto":
        return setup.attention
    return "eager" if shape.family == "gemma2" else "sdpa"


def layer_bytes_per_token(shape: ModelShape, setup: Setup) -> float:
    """Bytes autograd saves for one decoder layer, per token, during a forward without checkpointing.

    A frozen linear (LoRA's base) keeps no input: it needs only its weight for the input gradient.
    A trained one keeps its input; under autocast with fp32 weights that is a per-linear cast copy.
    """
    h, i, q = shape.hidden_size, shape.intermediate_size, shape.q_dim
    c, r = setup.c, setup.residual_bytes
    full = setup.method in ("full", "freeze")  # freeze: its trained layers keep what full keeps
    attention = attention_impl(shape, setup)
    # Without native GQA (a padding mask is present) HF's sdpa/eager repeat k and v to all heads.
    kv = shape.kv_dim if attention == "flash_attention_2" else q
    adapted = {lin.name for lin in lora_modules(shape, setup)}
    by_name = {lin.name: lin for lin in shape.linears()}

    def inputs(names: tuple[str, ...], d: int, x_bytes: int) -> float:
        """What the linears reading one tensor X (d wide, x_bytes per element) keep of it."""
        kept, shares_x = 0.0, False
        for name in names:
            if name not in by_name:
                continue
            if full:
                if setup.uses_autocast and x_bytes != c:
                    kept += c * d  # autocast casts X for each linear; each keeps its copy
                else:
                    shares_x = True
            if name in adapted:
                extra, shares = _lora_bytes(d, x_bytes, setup)
                kept += extra
                shares_x = shares_x or shares
        return kept + (x_bytes * d if shares_x else 0)

    # Gemma's RMSNorm multiplies by (1 + weight) in fp32, so a trained weight keeps fp32 x.
    normed = 4 if shape.family in ("gemma", "gemma2") else r

    def norm() -> float:
        if setup.liger:
            return r * h + 4  # Liger's RMSNorm keeps its input and an fp32 1/rms (ops/rms_norm.py)
        # RMSNorm upcasts to fp32 (kept by pow/mul) and keeps 1/rms; the normalized x is kept
        # by `weight *` only when the weight trains.
        return 4 * h + 4 + (normed * h if full else 0)

    attn_in = ("qkv_proj",) if shape.fused else ("q_proj", "k_proj", "v_proj")
    mlp_in = ("gate_up_proj",) if shape.fused else ("gate_proj", "up_proj")
    total = 2 * norm() + inputs(attn_in, h, r) + inputs(mlp_in, h, r)
    # SDPA keeps rotated q, k, v, its output (o_proj reads the same storage) and a log-sum-exp.
    total += c * (2 * q + 2 * kv) + 4 * shape.num_heads
    if attention != "flash_attention_2":
        # The mask row each layer's attention keeps: over the padded sequence, or, padding-free,
        # over the whole flattened micro-batch (one block-diagonal tokens x tokens mask).
        total += c * (setup.tokens if setup.padding_free else setup.seq_len)
    if "o_proj" in adapted:
        total += _lora_bytes(q, c, setup)[0]
    if shape.qk_norm:
        # per-head RMSNorm on q and k: fp32 copies, 1/rms per head, normalized copies if trained
        total += 4 * (q + shape.kv_dim) + 4 * (shape.num_heads + shape.num_kv_heads)
        total += c * (q + shape.kv_dim) if full else 0
    if attention == "eager":
        # fp32 softmax output, its cast copy, the dropout mask: heads x seq per token.
        total += shape.num_heads * setup.seq_len * (4 + c + 1)
    # Gated MLP: gate output (kept by the activation), activation and up outputs (kept by the
    # product); the product is down_proj's input. Liger's SwiGLU keeps only gate and up outputs
    # and recomputes the activation in the backward (ops/swiglu.py).
    total += (2 if setup.liger else 3) * c * i + inputs(("down_proj",), i, c)
    if shape.norms_per_layer == 4:  # Gemma 2's post-attention / post-MLP norms on the branches
        total += 2 * norm()
    return total + extra_bytes_per_token(shape, setup, lora_modules(shape, setup))  # DoRA, IA3


def _lora_bytes(d_in: int, x_bytes: int, setup: Setup) -> tuple[float, bool]:
    """(bytes, keeps X itself) one LoRA module adds per token (PEFT 0.21 lora.Linear.forward:
    x is cast to the adapter dtype, dropped out, then lora_A keeps its input)."""
    a, c = setup.adapter_bytes, setup.c
    kept = setup.lora_r * (c if setup.uses_autocast else a)  # lora_A output, kept by lora_B
    recast = setup.uses_autocast and a != c  # autocast casts lora_A's fp32 input back to c
    if setup.lora_dropout > 0:
        # CUDA's fused dropout keeps a bool mask; the CPU path keeps a mask in the input dtype.
        mask = 1 if setup.device == "cuda" else a
        return kept + mask * d_in + (c if recast else a) * d_in, False  # mask + dropout output (or its cast)
    if recast or a != x_bytes:
        return kept + (c if recast else a) * d_in, False  # a fresh cast copy
    return kept, True


def activation_bytes(shape: ModelShape, setup: Setup) -> dict[str, float]:
    """``saved``: kept on the GPU at the end of the forward; ``backward``: the activations on the GPU
    while the top decoder layer's backward runs (what the layers below still keep, its recomputed
    activations under checkpointing, the gradient temporaries); ``host``: the CPU memory offloaded
    activations take (0 without offloading)."""
    # Method freeze: the frozen layers below the trained ones run without keeping anything.
    n, layers = setup.tokens, trained_layers(shape, setup)
    h, i, r, c = shape.hidden_size, shape.intermediate_size, setup.residual_bytes, setup.c
    per_layer = layer_bytes_per_token(shape, setup) * n
    # Final norm (fp32 copy + output) and the hidden states the LM head keeps.
    head = (4 * h + 2 * r * h) * n
    grad_temps = (2 * r * h + 2 * c * i) * n
    saved: float
    below: float
    if setup.grad_checkpointing:
        saved = layers * r * h * n + head  # each layer keeps only its input
        # The top layer's input has become its recompute; the layers below keep theirs.
        work, below = per_layer + grad_temps, (layers - 1) * r * h * n
    else:
        saved = layers * per_layer + head
        work, below = grad_temps, layers * per_layer  # the top layer's saved tensors are being read
    out: dict[str, float] = {"saved": saved, "backward": below + work, "per_layer": per_layer, "host": 0.0}
    if setup.activation_offloading:
        out.update(_offloaded(shape, setup, saved, head, work))
    return out


def _offloaded(shape: ModelShape, setup: Setup, saved: float, head: float, work: float) -> dict[str, float]:
    """With offloading: ``saved`` is what stays on the GPU (the tensors in flight), the backward
    holds the tensors it brought back instead of the layers below, and ``host`` is the pinned CPU
    memory the saved activations take. Checkpointing's recompute runs under the checkpoint's own
    saved-tensor hooks, so the recomputed layer stays on the GPU (in ``work``)."""
    n, h, r, c = setup.tokens, shape.hidden_size, setup.residual_bytes, setup.c
    if setup.grad_checkpointing:
        largest = r * h * n  # a layer's input, the only tensor a checkpointed layer saves
    else:
        largest = max(c * shape.intermediate_size, 4 * h) * n  # the MLP's outputs, the norms' fp32 copies
        if attention_impl(shape, setup) == "eager":
            largest = max(largest, 4 * shape.num_heads * setup.seq_len * n)
    in_flight = OFFLOAD_IN_FLIGHT_TENSORS * largest
    extra = {"saved": min(saved, head + in_flight), "backward": work + in_flight}
    if setup.device != "cuda":
        extra["host"] = 0.0  # nothing moves: the activations are in CPU memory already
    elif setup.grad_checkpointing:
        # torch's pinned-memory allocator rounds each block up to a power of two
        # (ATen/core/CachingHostAllocator.h, "Round up the allocation to the nearest power of two").
        extra["host"] = (shape.num_layers + 2) * pinned_block(r * h * n) + pinned_block(4 * h * n)
    else:
        extra["host"] = 2 * saved  # many tensor sizes: power-of-two rounding at most doubles each
    return extra


def pinned_block(nbytes: float) -> float:
    """The pinned host block torch's caching host allocator hands out for ``nbytes``."""
    return float(2 ** math.ceil(math.log2(nbytes))) if nbytes > 1 else float(nbytes)


def loss_bytes(shape: ModelShape, setup: Setup, lm_head_trains: bool) -> dict[str, float]:
    """Loss buffers: ``forward`` peak while the loss is computed, ``backward`` when its gradient is."""
    n, v, h, c = setup.tokens, shape.vocab_size, shape.hidden_size, setup.c
    if setup.loss == "fused":
        tile = min(n, FUSED_TOKEN_CHUNK) * FUSED_VOCAB_CHUNK * c
        stats = 10 * 4 * n  # fp32 running max, sums, target logit, outputs per token
        backward = tile + FUSED_VOCAB_CHUNK * h * c + 4 * h * n + c * h * n  # fp32 grad_hidden + its cast
        if lm_head_trains:
            backward += 4 * v * h  # fp32 grad of the head weight, accumulated tile by tile
        return {"forward": tile + stats, "backward": backward + stats}
    # Model's own loss (transformers ForCausalLMLoss): logits in compute dtype, `.float()` upcast,
    # log_softmax output kept; backward adds nll's dense grad and log_softmax's input grad.
    upcast = 4 if c != 4 else 0
    kept = (c + 4) * n * v
    head_grad = setup.trainable_bytes * v * h if lm_head_trains else 0  # stays: it is the weight's .grad
    return {"forward": kept + upcast * n * v, "backward": kept + 8 * n * v + head_grad}
