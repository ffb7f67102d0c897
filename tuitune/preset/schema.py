"""The preset's schema: one pydantic section per TOML table, the single source of truth for
presets. The docstring under each field is its help text everywhere (``tuitune keys``, the TUI's
tooltips, comments in written presets). Reading files and reporting problems is ``load.py``;
one key's allowed values and default, for the fronts and the planner, ``keys.py``.

This module is part of the light core: it must not import torch or the training stack.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tuitune.models.ref import ModelRefError, parse_model_ref
from tuitune.preset.methods import problems as method_problems
from tuitune.preset.sections import (  # noqa: F401 - re-exported: the schema is one import
    GGUF_TYPE_HELP,
    GGUF_TYPES,
    DpoSection,
    EvalSection,
    ExportSection,
    GgufType,
    LoraSection,
    _auto,
    _Section,
)

# Keys tuitune chooses itself when a preset leaves them out or sets them to "auto" (tuitune.preset.guidance).
GUIDED = (
    "train.epochs", "train.max_steps", "train.learning_rate", "train.grad_accum", "train.warmup_ratio",
    "train.lr_scheduler", "train.eval_steps", "train.save_steps", "lora.r", "lora.alpha", "lora.dropout",
    "eval.early_stopping", "eval.plateau_stop", "eval.probe_count", "data.val_fraction", "dpo.beta",
    "dpo.simpo_gamma", "dpo.desirable_weight", "dpo.undesirable_weight",
)

# The stages that train on preferences (their settings: `[dpo]`), and those of them that compare
# the model with a frozen reference (ORPO and SimPO have none: no reference pass, no copy).
PREFERENCE_STAGES = ("dpo", "kto", "orpo", "simpo")
REFERENCE_STAGES = ("dpo", "kto")


class ModelSection(_Section):
    path: str
    """The base model: a hub id (`Qwen/Qwen2.5-7B-Instruct`), a local Hugging Face folder, a `.gguf`
    file (loaded dequantized), `bundled:smollm2-135m-instruct` for the demo model, or `run:<id>`
    to start from an earlier finished run (its fine-tuned model; a LoRA run's adapter merged into
    its base), e.g. SFT then DPO."""

    trust_remote_code: bool = False
    """Run Python code shipped with the model. Off unless you trust its author."""

    allow_pickle: bool = False
    """Load weights from pickled `.bin` files when a local model folder has no `.safetensors`.
    Unpickling can run arbitrary code: leave it off unless you trust where the files came from."""

    @field_validator("path")
    @classmethod
    def _path_means_something(cls, value: str) -> str:
        # Only the form is checked here; whether the file, the run or the bundled package exists
        # is for loading (relative paths) and the preflight (runs, bundled models) to say.
        try:
            parse_model_ref(value)
        except ModelRefError as e:
            raise ValueError(str(e)) from None
        return value


class MixSource(_Section):
    path: str
    """A data file (any format `data.path` takes), `bundled:general`, or `hf:ORG/NAME`."""

    weight: float = Field(gt=0, lt=1)
    """The fraction of the training rows drawn from this source."""


class DataSection(_Section):
    path: str
    """The training data: JSON Lines, JSON (an array, or an object holding one), CSV/TSV, Parquet,
    plain text (one document per line, or blank-line separated), or a folder written by
    `datasets`' save_to_disk; a hub dataset as `hf:ORG/NAME` (or `hf:ORG/NAME:SPLIT`), fetched
    into the Hugging Face cache; `bundled:pirate` for the demo set. With `train.stage = "cpt"`:
    a folder of documents (.txt, .md, .pdf, .jsonl/.parquet with a `text` column) or one such
    file. It is only ever read."""

    format: Literal[
        "auto", "alpaca", "sharegpt", "messages", "prompt_completion", "preference", "unpaired_preference", "text", "choice"
    ] = "auto"
    """Row format; `auto` detects it from the keys of the first rows (`tuitune data inspect FILE`
    shows the evidence). SFT trains `alpaca`, `sharegpt`, `messages` and `prompt_completion`."""

    columns: dict[str, str] = Field(default_factory=dict)
    """Rename your columns to the names a format expects, as ours = "yours", e.g.
    { prompt = "question", completion = "answer" } or { messages = "dialog" }. Applied before detection."""

    on_error: Literal["fail", "skip"] = "fail"
    """A row that cannot be used: `fail` stops and lists every bad row; `skip` leaves it out and
    records it, with the reason, in the run's data/rejected.jsonl."""

    val_fraction: float | None = Field(None, ge=0.0, lt=0.5)
    """Share of rows held out for validation (0 turns validation off). `auto`: 0.05, except for
    knowledge-like data (every phrasing of every fact trains) and for data too small to give 10
    validation rows at 5% (every row trains; the run stops on the training-loss plateau)."""

    system_prompt: str | None = None
    """A system message put before every conversation that has none."""

    normalize_whitespace: bool = True
    """Tidy every turn: Unix newlines, no trailing spaces, at most one blank line in a row, no
    leading or trailing whitespace."""

    drop_empty: bool = True
    """Leave out rows with an empty turn or empty text (empty system messages are just removed)."""

    dedup_exact: bool = True
    """Leave out rows that repeat an earlier row, ignoring case and spacing."""

    dedup_near: bool = True
    """Leave out rows nearly identical to an earlier row (MinHash over word 3-grams, confirmed
    exactly; see `near_threshold`)."""

    near_threshold: float = Field(0.9, gt=0.0, le=1.0)
    """How alike two rows must be to count as near duplicates: the Jaccard similarity of their
    word 3-grams (1.0: identical words)."""

    min_tokens: int | None = Field(None, ge=1, le=1_048_576)
    """Leave out rows shorter than this many tokens (counted with the model's chat template)."""

    max_tokens: int | None = Field(None, ge=1, le=1_048_576)
    """Leave out rows longer than this many tokens, instead of truncating them at `train.max_seq_len`."""

    drop_degenerate_pairs: bool = True
    """Preference data: leave out pairs whose chosen and rejected answers are equal or empty."""

    fix_leakage: bool = True
    """Move validation rows whose prompt also appears in training to the training split, so that
    validation loss measures generalization, not memory."""

    mix: list[MixSource] = Field(default_factory=list, max_length=64)
    """More sources mixed in, each `{ path = "...", weight = 0.3 }`: read, validated, cleaned and
    split on its own (its own report; validation covers each), then sampled so that it makes up
    `weight` of the training rows; `data.path` makes up the rest. `bundled:general` is tuitune's
    general set, to mix in a little general data against forgetting (docs/eval.md)."""

    paths: list[str] = Field(default_factory=list, max_length=64)
    """More sources of the same weight as `data.path` (a shorthand for `mix`)."""

    @model_validator(mode="after")
    def _token_bounds_in_order(self) -> DataSection:
        if self.min_tokens and self.max_tokens and self.min_tokens > self.max_tokens:
            raise ValueError(f"data.min_tokens ({self.min_tokens}) is above data.max_tokens ({self.max_tokens})")
        if self.mix and self.paths:
            raise ValueError("data.mix and data.paths both list more sources; use one (mix gives each a weight)")
        total = sum(m.weight for m in self.mix)
        if total >= 1:
            raise ValueError(f"the weights of data.mix add up to {total:g}; they must leave room for data.path "
                             "(below 1, e.g. weight = 0.1 for 10 % of the training rows)")
        return self

    _auto_means_none = field_validator("val_fraction", mode="before")(lambda value: _auto(value))


class TrainSection(_Section):
    stage: Literal["sft", "dpo", "kto", "orpo", "simpo", "cpt"] = "sft"
    """`sft` trains on example answers; `dpo` on preference pairs; `kto` on answers marked good or
    bad (unpaired; pairs are split into one of each); `orpo` and `simpo` on preference pairs
    without a reference model (docs/dpo.md; their settings are in `[dpo]`); `cpt` (continued
    pretraining) on plain documents — `data.path` a folder of .txt/.md/.pdf/.jsonl/.parquet files
    or one of them — cut into `max_seq_len` windows, loss on every token (docs/cpt.md)."""

    method: Literal["auto", "full", "lora", "qlora", "ia3", "prompt_tuning", "prefix_tuning", "freeze"] = "auto"
    """`full` updates every weight; `lora` trains a small adapter; `qlora` trains an adapter on a
    4-bit base. `auto` picks LoRA when the 16-bit model fits comfortably, else QLoRA. Also: `ia3`
    (learned scales on keys, values and the MLP), `prompt_tuning` / `prefix_tuning` (learned virtual
    tokens; chat only, no GGUF), `freeze` (full training of the last layers). See docs/methods.md."""

    freeze_trainable_layers: int | None = Field(None, ge=1, le=1024)
    """With method `freeze`: train the last this many decoder layers in full, the rest frozen
    (default 2 when `freeze_trainable_modules` is empty too)."""

    freeze_trainable_modules: list[str] = Field(default_factory=list, max_length=256)
    """With method `freeze`: also train every parameter whose name contains one of these, e.g.
    ["lm_head"] or ["layers.0.mlp"] (names as in the model's state dict)."""

    epochs: float | None = Field(None, gt=0, le=1000)
    """Passes over the training data (ignored when `max_steps` is set). `auto` (or left out):
    tuitune chooses from the number of examples, and on the CPU caps the run to a few minutes."""

    max_steps: int | None = Field(None, gt=0, le=10_000_000)
    """Stop after this many optimizer steps; overrides `epochs` (left out: from the epochs)."""

    learning_rate: float | None = Field(None, ge=1e-8, lt=1)
    """Peak learning rate. Typical: 1e-4 to 5e-4 for LoRA, 1e-5 to 5e-5 for full fine-tuning.
    `auto`: chosen from the method and the model's size (docs/guidance.md)."""

    batch_size: int = Field(4, ge=1, le=4096)
    """Examples per forward pass (per device)."""

    grad_accum: int | None = Field(None, ge=1, le=4096)
    """Forward passes per optimizer step; effective batch = batch_size x grad_accum. `auto`:
    chosen for an effective batch that suits the dataset's size (1 on the CPU)."""

    max_seq_len: int = Field(1024, ge=16, le=1_048_576)
    """Longest sequence in tokens; longer examples are truncated."""

    warmup_ratio: float | None = Field(None, ge=0, lt=1)
    """Share of the steps spent ramping the learning rate up from zero (`auto`: 3%, more on short runs)."""

    lr_scheduler: Literal[
        "auto", "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"
    ] = "auto"
    """How the learning rate falls after warmup (`auto`: cosine)."""

    optimizer: Literal["adamw", "adamw_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "adafactor"] = "adamw"
    """AdamW in fp32; `adamw_8bit` keeps its two states in 8 bits (bitsandbytes), saving 6 bytes
    per trained parameter; `paged_` variants also spill them to CPU memory under pressure."""

    weight_decay: float = Field(0.0, ge=0, lt=1)
    """Decoupled weight decay of AdamW."""

    gradient_checkpointing: Literal["auto"] | bool = "auto"
    """Recompute activations in the backward pass: less memory, ~30% slower. `auto`: on for
    CUDA, off on the CPU."""

    packing: bool = False
    """Fill each row up to `max_seq_len` with several examples (TRL's best-fit packing), so a step
    holds more examples than `batch_size` and an epoch takes fewer steps. Rows are padding-free:
    no attention across examples."""

    padding_free: Literal["auto"] | bool = "auto"
    """Lay each batch's examples end to end in one row, positions restarting per example, instead
    of padding them to the longest: no compute spent on padding, and no attention across examples.
    Same examples per step, same loss. `auto`: on, unless a batch is one example, the model runs
    its own code, or (without flash-attention) a batch could exceed 16384 tokens."""

    group_by_length: Literal["auto"] | bool = "auto"
    """Batch examples of similar length together, so padded batches waste less. `auto`: on when
    batches are padded (padding-free and packing off)."""

    attn_implementation: Literal["auto", "sdpa", "flash_attention_2", "eager"] = "auto"
    """Attention kernel. `auto`: flash-attention 2 on a CUDA GPU in bf16/fp16 when the `flash-attn`
    package is installed, otherwise PyTorch's SDPA (eager where a model has no SDPA path)."""

    liger: Literal["auto"] | bool = "auto"
    """Liger's Triton kernels for RMSNorm, SwiGLU and RoPE (less memory, faster). CUDA only;
    `auto`: on when the `liger-kernel` package is installed and supports the model's architecture.
    The loss is already computed by TRL's fused, chunked LM head (no full logits)."""

    activation_offloading: Literal["auto"] | bool = "auto"
    """Keep the activations the backward pass needs in CPU memory instead of on the GPU (TRL's
    activation offloading: copied out during the forward on a side stream, brought back layer by
    layer in the backward), so a long context fits: with gradient checkpointing the GPU holds a
    few layers' inputs instead of all of them, and the CPU needs about as much RAM as they take
    (`tuitune plan` says how much). Slower, by the copies the compute cannot hide. `auto`: on only
    when the planner finds the run does not fit on the GPU without it and does with it; off on
    the CPU, where activations already live in CPU memory. SFT only."""

    assistant_only_loss: bool = True
    """Learn only from the assistant's turns, not from the prompts and system messages."""

    seed: int = Field(42, ge=0, le=2**32 - 1)
    """Seed for shuffling, splitting and weight initialization."""

    logging_steps: int = Field(1, ge=1, le=1_000_000)
    """Report loss and learning rate every this many steps."""

    save_steps: int | None = Field(None, ge=1, le=10_000_000)
    """Save a resumable checkpoint every this many steps (`auto`: at every evaluation, or five
    times per run without a validation split)."""

    save_total_limit: int = Field(2, ge=1, le=1000)
    """Keep at most this many checkpoints (the oldest are deleted)."""

    eval_steps: int | None = Field(None, ge=1, le=10_000_000)
    """Evaluate on the validation split every this many steps (`auto`: about 10 times per run,
    5 on the CPU)."""

    device: Literal["auto", "cuda", "cpu"] = "auto"
    """Where to train; `auto` uses the GPU when there is one."""

    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Compute precision; `auto`: bf16 on GPUs that support it, fp16 on older GPUs, fp32 on the CPU."""

    on_oom: Literal["fail", "retry"] = "fail"
    """Out of memory: `fail` stops the run with the planner's advice; `retry` resumes from the last
    checkpoint (or starts over when there is none) with batch_size halved and grad_accum doubled,
    so the effective batch stays the same. Each change is recorded in the run."""

    oom_retries: int = Field(3, ge=0, le=10)
    """With on_oom = "retry": give up after this many halvings."""

    distributed: Literal["auto", "none", "ddp", "fsdp", "deepspeed"] = "auto"
    """Train on several processes (one per GPU) through accelerate (docs/distributed.md): `ddp`
    keeps a full copy of the model on each GPU (fastest when one GPU fits the run); `fsdp` shards
    weights, gradients and optimizer state across the GPUs (for a model one GPU cannot hold,
    QLoRA included); `deepspeed` does the same with ZeRO-3 (needs the `deepspeed` package).
    `none`: one process. `auto`: one process when one GPU fits and it is the only one, DDP when
    it fits and there are more, FSDP when it fits only sharded; always one process on the CPU."""

    num_processes: int | None = Field(None, ge=1, le=1024)
    """Processes to train with when `distributed` is not `none` (`auto`, or left out: one per
    visible GPU, as `CUDA_VISIBLE_DEVICES` allows). On the CPU give it explicitly (gloo)."""

    report_to: list[Literal["tensorboard", "trackio", "wandb"]] = Field(default_factory=list, max_length=3)
    """Also log the run's metrics where people already look, through transformers' integrations:
    "tensorboard" (its folder is tensorboard/ inside the run directory; `tuitune runs show` prints
    the command that opens it), "trackio", "wandb" (each needs its package installed). Default: none."""

    @field_validator("report_to")
    @classmethod
    def _report_to_installed(cls, value: list[str]) -> list[str]:
        import importlib.util

        needs = {"tensorboard": ("tensorboard", "tensorboardX"), "trackio": ("trackio",), "wandb": ("wandb",)}
        missing = [v for v in value if not any(importlib.util.find_spec(m) for m in needs[v])]
        if missing:
            raise ValueError(f"{', '.join(missing)} is not installed here: `pip install {' '.join(missing)}`, "
                             "or take it out of train.report_to")
        return list(dict.fromkeys(value))

    longest_first: bool = False
    """Start each epoch with the longest examples (batches grouped by length), so that a batch
    that does not fit fails in the first minute, not hours in. SFT only."""

    @model_validator(mode="after")
    def _longest_first_is_for_sft(self) -> TrainSection:
        if self.longest_first and self.stage != "sft":
            raise ValueError("train.longest_first works with stage 'sft' only (the length-grouped sampler "
                             "measures SFT rows); remove it from this DPO preset")
        if self.activation_offloading is True and self.stage not in ("sft", "cpt"):
            raise ValueError("train.activation_offloading = true works with stage 'sft' only (tuitune plans and "
                             "reports it for SFT runs); set it to 'auto' or false in this DPO preset")
        return self

    @model_validator(mode="after")
    def _kto_batch_has_neighbours(self) -> TrainSection:
        if self.stage == "kto" and self.batch_size < 2:
            raise ValueError("train.batch_size = 1 with stage 'kto': KTO estimates its KL term from the other answers "
                             "in the same batch, so it needs train.batch_size = 2 or more")
        return self

    _auto_means_none = field_validator(
        "epochs", "learning_rate", "grad_accum", "warmup_ratio", "save_steps", "eval_steps", "num_processes",
        mode="before"
    )(lambda value: _auto(value))


class Preset(_Section):
    name: str | None = None
    """A short name for runs of this preset (default: the file name)."""

    model: ModelSection
    """The base model."""

    data: DataSection
    """The training data."""

    train: TrainSection = Field(default_factory=TrainSection)
    """How to train."""

    lora: LoraSection = Field(default_factory=LoraSection)
    """Adapter settings (LoRA and QLoRA; IA3 and prompt tuning use a few)."""

    eval: EvalSection = Field(default_factory=EvalSection)
    """Held-out evaluation: early stopping, the best checkpoint, probe prompts."""

    dpo: DpoSection = Field(default_factory=DpoSection)
    """Preference training settings (used when `train.stage` is `dpo`, `kto`, `orpo` or `simpo`)."""

    export: ExportSection = Field(default_factory=ExportSection)
    """What to write after training."""

    @model_validator(mode="after")
    def _method_keys_agree(self) -> Preset:
        found = method_problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self

    def to_toml_dict(self) -> dict[str, Any]:
        """The preset as a TOML-writable dict (TOML has no null: unset values are left out)."""
        return self.model_dump(mode="json", exclude_none=True)
