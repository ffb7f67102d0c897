"""The preset's smaller sections — [lora], [eval], [dpo], [export] — and what every section
shares (the strict base, "auto" as leaving a key out). `schema.py` holds [model], [data], [train]
and the whole Preset, and re-exports these; read its docstring for the rules of both.

Part of the light core: it must not import torch or the training stack.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

GgufType = Literal["f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_0", "q4_k_m", "q4_0"]
GGUF_TYPES: tuple[str, ...] = get_args(GgufType)

# What each GGUF type is, for a person choosing (the TUI's export list, `tuitune export --help`).
# Kept beside the Literal so that a new type gets its line where it is added (a test checks).
GGUF_TYPE_HELP = {
    "f16": "16-bit, no quantization loss; biggest file",
    "bf16": "bfloat16, as trained on most GPUs; biggest file",
    "q8_0": "8-bit, practically lossless, about half of f16",
    "q6_k": "6-bit k-quant, very close to q8_0",
    "q5_k_m": "5-bit k-quant, good quality for its size",
    "q5_0": "5-bit legacy quant",
    "q4_k_m": "4-bit k-quant, the usual choice for chat",
    "q4_0": "4-bit legacy quant, smallest, fastest on the CPU",
}



def _auto(value: Any) -> Any:
    """`"auto"` in a preset means the same as leaving the key out: tuitune chooses."""
    return None if isinstance(value, str) and value.strip().lower() == "auto" else value


class _Section(BaseModel):
    # inf and nan are no count or rate (`epochs = inf` reached the guidance as an OverflowError).
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_assignment=True, allow_inf_nan=False)


class LoraSection(_Section):
    r: int | None = Field(None, ge=1, le=1024)
    """Adapter rank: capacity of the adapter. 8-64 is typical (`auto`: 16, more for large datasets)."""

    alpha: int | None = Field(None, ge=1, le=4096)
    """Adapter scaling; the update is scaled by alpha / r. Often 2 x r (`auto`: 2 x r)."""

    dropout: float | None = Field(None, ge=0, lt=1)
    """Dropout on the adapter's input (`auto`: 0.05; 0 for `pissa` and `olora`, whose adapter holds
    the weights' principal part)."""

    target_modules: Literal["all-linear"] | list[str] = "all-linear"
    """Layers that get an adapter: `all-linear`, or a list of module names like ["q_proj", "v_proj"].
    For `ia3`, `all-linear` means PEFT's choice for the model (keys, values, the MLP's down projection)."""

    use_dora: bool = False
    """DoRA: learn each weight's magnitude apart from its direction (LoRA on the direction); closer
    to full fine-tuning at low ranks, ~20% slower, a little more memory. Merges like LoRA."""

    use_rslora: bool = False
    """rsLoRA: scale the update by alpha / sqrt(r) instead of alpha / r, so high ranks still learn."""

    init: Literal["gaussian", "pissa", "olora", "loftq"] = "gaussian"
    """How the adapter starts: `gaussian` (LoRA's: A random, B zero), `pissa` (the weights' principal
    singular directions; converges faster), `olora` (an orthonormal QR basis), `loftq` (QLoRA only:
    fitted to the 4-bit base's quantization error). PiSSA and OLoRA are saved as plain LoRA deltas."""

    lora_plus_ratio: float | None = Field(None, gt=0, le=1000)
    """LoRA+: train the B matrices with this many times the learning rate of A (the paper: 16)."""

    virtual_tokens: int = Field(20, ge=1, le=1024)
    """Prompt and prefix tuning: how many virtual tokens are learned."""

    _auto_means_none = field_validator("r", "alpha", "dropout", mode="before")(lambda value: _auto(value))


class EvalSection(_Section):
    early_stopping: Literal["auto"] | bool = "auto"
    """Stop when the validation loss has not improved for `patience` evaluations, and keep the best
    checkpoint (it is saved and exported instead of the last). `auto`: on when there is a
    validation split."""

    plateau_stop: Literal["auto"] | bool = "auto"
    """End the run when the training loss stops falling (no 2% gain over the last quarter of the
    run, checked from half way). `auto`: on when there is no validation split to trust, where
    early stopping cannot act."""

    patience: int = Field(3, ge=1, le=1000)
    """Evaluations in a row without a new best validation loss before early stopping ends the run."""

    probes: list[str] = Field(default_factory=list)
    """Prompts the model answers at every evaluation, and base against tuned at the end (see
    `tuitune runs show`). Empty: drawn from the validation split."""

    probe_count: int | None = Field(None, ge=0, le=16)
    """How many prompts to draw from the validation split when `probes` is empty (`auto`: 2 on
    the CPU, 4 on a GPU; 0 turns probes off)."""

    probe_tokens: int = Field(48, ge=1, le=1024)
    """Longest probe answer in tokens (greedy decoding)."""

    general: bool = True
    """At the end of the run, score base and tuned on the validation rows and on tuitune's general
    set (the forgetting guard), when that is measured to take under `general_budget_s`; results
    in the run's eval/ (`tuitune eval RUN` does the same at any time, without a limit)."""

    general_budget_s: float = Field(60.0, gt=0, le=86_400)
    """Longest the evaluation at the end of a run may take, in seconds; it is skipped (with a
    note) when its projected time is longer."""

    general_limit: int | None = Field(None, ge=1, le=10_000)
    """Score only the first N items of each part of the general set at the end of the run
    (quicker, coarser); `auto`: all of them."""

    forgetting_margin: float = Field(0.05, ge=0, le=1)
    """The coach warns when the general score (0–1) falls by more than this from base to tuned."""

    _auto_means_none = field_validator("probe_count", "general_limit", mode="before")(lambda value: _auto(value))


DpoLoss = Literal["sigmoid", "ipo", "hinge", "robust", "sigmoid_norm", "apo_zero", "apo_down"]


class DpoSection(_Section):
    """The preference stages' settings (`dpo`, `kto`, `orpo`, `simpo`); each key says which use it."""

    beta: float | None = Field(None, gt=0, le=10)
    """DPO and KTO: how far the model may drift from the reference (the starting model), higher
    keeps it closer, 0.1 is usual (for `ipo`: the regularization strength); ORPO: the weight of
    the odds-ratio term beside the SFT loss (the paper's lambda, 0.1); SimPO: the reward scale
    (2.0 to 2.5 in the paper). Left out: chosen by tuitune for the stage."""

    simpo_gamma: float | None = Field(None, ge=0, le=20)
    """SimPO: the target margin between the chosen and rejected rewards. Left out: half of `beta`
    (the SimPO paper's gamma/beta ratios run 0.3 to 0.8)."""

    cpo_alpha: float = Field(0.0, ge=0, le=10)
    """SimPO: weight of an added SFT (NLL) loss on the chosen answers; 0 is plain SimPO, 1 is CPO's
    behaviour-cloning term."""

    desirable_weight: float | None = Field(None, gt=0, le=100)
    """KTO: weight of the losses of answers marked good. Left out: 1, or raised so that the two
    classes weigh the same when good answers are fewer (TRL's rule: desirable_weight x good rows /
    (undesirable_weight x bad rows) between 1 and 4/3)."""

    undesirable_weight: float | None = Field(None, gt=0, le=100)
    """KTO: weight of the losses of answers marked bad. Left out: 1, or raised when bad answers are
    fewer (see `desirable_weight`)."""

    _auto_means_none = field_validator("beta", "simpo_gamma", "desirable_weight", "undesirable_weight",
                                       mode="before")(lambda value: _auto(value))

    loss_type: DpoLoss = "sigmoid"
    """DPO: the preference loss: `sigmoid` (the DPO paper), `ipo`, `hinge`, `robust` (noisy labels, see
    `label_smoothing`), `sigmoid_norm` (length-normalized), `apo_zero` / `apo_down` (anchored)."""

    label_smoothing: float = Field(0.0, ge=0, lt=0.5)
    """DPO: share of pairs assumed mislabeled, for `robust` (and conservative `sigmoid`); 0 trusts every pair."""

    max_prompt_len: int | None = Field(None, ge=1, le=1_048_576)
    """DPO, ORPO, SimPO: keep at most this many prompt tokens (the end, next to the answer, is kept);
    default: no limit beyond `train.max_seq_len`."""

    max_completion_len: int | None = Field(None, ge=1, le=1_048_576)
    """DPO, ORPO, SimPO: keep at most this many tokens of each answer (its start); default: no limit beyond
    `train.max_seq_len`."""

    precompute_ref: bool = False
    """DPO, KTO: compute the reference model's log-probabilities once, before training. Full fine-tuning then
    needs no second copy of the model in memory; LoRA/QLoRA (whose reference is the base with the
    adapter off, no copy either way) save the reference forward pass at every step. Redone at each
    start or resume."""


class ExportSection(_Section):
    gguf: list[GgufType] = Field(default_factory=lambda: list[GgufType](["q4_k_m"]))
    """GGUF files to write after training (empty: none)."""

    ollama: bool = True
    """Write an Ollama Modelfile next to the GGUF."""
