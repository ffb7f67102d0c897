"""One training setup to estimate: method, batch, sequence length, adapter, optimizer, and the
stack's behaviour the memory depends on. Defaults are what tuitune's worker really does
(tuitune/weights/loading.py and sft.py over TRL 1.16 / PEFT 0.21), a preset's own defaults
where a preset has the key; validation against published runs overrides the stack fields to
match those runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from tuitune.hardware.errors import PlannerError
from tuitune.preset.keys import choices, default
from tuitune.preset.methods import LORA_DROPOUT

# The methods the planner compares, in the order it prefers them: the preset's, less `auto`
# (which asks the planner to choose). The optimizers and stages it knows are the preset's too.
METHODS: tuple[str, ...] = tuple(m for m in choices("train.method") if m != "auto")
# The ones a recommendation chooses among (`method = "auto"`); the rest are asked for by name.
AUTO_METHODS: tuple[str, ...] = ("full", "lora", "qlora")
OPTIMIZERS: tuple[str, ...] = choices("train.optimizer")
STAGES: tuple[str, ...] = choices("train.stage")
ATTENTIONS: tuple[str, ...] = choices("train.attn_implementation")
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}

# Without a varlen kernel, a padding-free micro-batch of N tokens attends through a dense
# block-diagonal N x N mask, which each layer's SDPA keeps in the compute dtype. `auto` goes
# padding-free only while that stays small.
DENSE_MASK_MAX_BYTES = 64 * 2**20


def padding_free_mask_fits(tokens: int, compute_bytes: int, attention: str) -> bool:
    """Whether `train.padding_free = "auto"` may flatten a micro-batch of ``tokens`` tokens."""
    return attention == "flash_attention_2" or tokens * tokens * compute_bytes <= DENSE_MASK_MAX_BYTES


@dataclass(frozen=True)
class Setup:
    method: str
    """full, lora, qlora, ia3, prompt_tuning, prefix_tuning or freeze (:data:`METHODS`)."""
    seq_len: int = default("train.max_seq_len")
    """Tokens per sequence (the longest batch is padded to it)."""
    batch: int = 1
    """Sequences per forward pass (micro-batch)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step; above 1 the gradients stay allocated during forwards."""
    lora_r: int = 16
    lora_targets: str | tuple[str, ...] = default("lora.target_modules")
    lora_dropout: float = LORA_DROPOUT
    grad_checkpointing: bool = True
    optimizer: str = default("train.optimizer")
    compute: str = "bf16"
    """Compute precision (autocast dtype, or the weights' dtype without autocast)."""
    attention: str = "auto"
    """transformers' attention implementation: sdpa, eager or flash_attention_2; auto: what
    transformers 5 picks by default (sdpa; eager for Gemma 2, which has no sdpa path)."""
    padding_free: bool = False
    """Each micro-batch's examples lie end to end in one row (tuitune's default, and always with
    packing). Worst case unchanged (batch x seq_len tokens); the attention mask changes: none with
    flash-attention's varlen kernel, one block-diagonal (tokens x tokens) mask with SDPA/eager."""
    liger: bool = False
    """Liger's RMSNorm and SwiGLU kernels (CUDA): they keep less for the backward."""
    activation_offloading: bool = False
    """TRL's activation offloading: what the forward saves for the backward lives in pinned CPU
    memory; the GPU keeps the tensors in flight (see docs/planner.md, "Activation offloading")."""
    loss: str = "fused"
    """fused: TRL 1.16 SFTTrainer's chunked LM head (no full logits); full_logits: the model's own loss."""
    weights: str | None = None
    """dtype of trainable full-fine-tune weights; None: fp32 master weights, as tuitune loads them."""
    adapter: str | None = None
    """LoRA weight dtype; None: fp32 for LoRA (PEFT autocast_adapter_dtype), the compute dtype for
    QLoRA (TRL 1.16 casts a quantized model's adapters to bf16)."""
    autocast: bool | None = None
    """Mixed precision autocast; None: on whenever weights and compute dtype differ (bf16=True)."""
    double_quant: bool = True
    device: str = "cuda"
    stage: str = default("train.stage")
    """sft, or a preference stage: dpo, orpo and simpo put two sequences per row through the model
    (chosen and rejected, one forward pass); dpo and kto run a reference forward pass after the
    policy's (hardware/stages.py; docs/planner.md, "DPO")."""
    precompute_ref: bool = False
    """DPO, KTO: the reference log-probs were computed before training (no reference pass or copy)."""
    dora: bool = False
    """LoRA with DoRA (`lora.use_dora`): a magnitude vector per adapted projection, and the
    projections' outputs kept for its gradient (hardware/method_terms.py)."""
    virtual_tokens: int = default("lora.virtual_tokens")
    """Prompt/prefix tuning: the learned tokens (prompt tuning lengthens every sequence by them)."""
    trainable_layers: int = 2
    """Method freeze: how many of the last decoder layers train."""

    def __post_init__(self) -> None:
        problems = []
        object.__setattr__(self, "stage", planned_stage(self.stage))  # frozen: set once, here
        if self.method not in METHODS:
            problems.append(f"method {self.method!r}: use one of {', '.join(METHODS)}")
        for name in ("seq_len", "batch", "grad_accum", "lora_r"):
            if getattr(self, name) < 1:
                problems.append(f"{name.replace('_', '-')} must be a positive integer (got {getattr(self, name)})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer {self.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
        if self.compute not in DTYPE_BYTES:
            problems.append(f"compute dtype {self.compute!r}: use fp32, bf16 or fp16")
        if self.stage not in STAGES:
            problems.append(f"stage {self.stage!r}: use one of {', '.join(STAGES)}")
        if self.attention not in ATTENTIONS:
            problems.append(f"attention {self.attention!r}: use one of {', '.join(ATTENTIONS)}")
        if problems:
            raise PlannerError("; ".join(problems))

    @property
    def c(self) -> int:
        """Bytes per element of compute-dtype activations."""
        return DTYPE_BYTES[self.compute]

    @property
    def weight_bytes(self) -> int:
        """Bytes per element of the (unquantized) base weights."""
        if self.method in ("full", "freeze"):  # freeze loads as full: fp32 master weights
            return DTYPE_BYTES[self.weights or "fp32"]
        return self.c

    @property
    def adapter_bytes(self) -> int:
        if self.adapter:
            return DTYPE_BYTES[self.adapter]
        return self.c if self.method == "qlora" else 4  # PEFT upcasts adapters of a 16-bit base

    @property
    def trainable_bytes(self) -> int:
        """Bytes per trainable parameter (their gradients have the same dtype)."""
        return self.weight_bytes if self.method in ("full", "freeze") else self.adapter_bytes

    @property
    def uses_autocast(self) -> bool:
        if self.autocast is not None:
            return self.autocast
        return self.trainable_bytes != self.c

    @property
    def residual_bytes(self) -> int:
        """The residual stream's dtype follows the embedding weights (fp32 master weights stay fp32)."""
        return self.weight_bytes

    @property
    def tokens(self) -> int:
        # Prompt tuning puts its virtual tokens in front of every sequence (PEFT concatenates them).
        virtual = self.virtual_tokens if self.method == "prompt_tuning" else 0
        return self.batch * (self.seq_len + virtual)

    def with_(self, **changes) -> Setup:
        return replace(self, **changes)

    def settings(self) -> dict:
        """The user-facing knobs, for reports and JSON."""
        data = asdict(self)
        keep = ("method", "seq_len", "batch", "grad_accum", "grad_checkpointing", "optimizer")
        out = {k: data[k] for k in keep}
        if self.activation_offloading:
            out["activation_offloading"] = True
        if self.stage != "sft":
            out["stage"] = self.stage
            out["precompute_ref"] = self.precompute_ref
        if self.method == "freeze":
            out["trainable_layers"] = self.trainable_layers
        elif self.method in ("prompt_tuning", "prefix_tuning"):
            out["virtual_tokens"] = self.virtual_tokens
        elif self.method != "full":
            if self.dora:
                out["dora"] = True
            targets = self.lora_targets
            out["lora_r"] = self.lora_r
            out["lora_targets"] = targets if isinstance(targets, str) else list(targets)
        return out


def planned_stage(stage: str) -> str:
    """The stage whose memory a run of ``stage`` takes: continued pretraining is SFT's forward and
    backward on rows that are all ``max_seq_len`` long (its windows are packed full)."""
    return "sft" if stage == "cpt" else stage
