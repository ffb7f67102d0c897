"""The fast path: attention kernel, padding-free batches, length grouping, Liger kernels and
dataloader settings, resolved from the preset's `auto`s for the hardware at hand.

Every switch is a preset key (`train.padding_free`, `train.group_by_length`,
`train.attn_implementation`, `train.liger`, `train.packing`, `train.activation_offloading`);
:func:`choose_speed` decides what
`auto` means here and why, and the worker reports the outcome as a ``speed`` event. Everything
comes from well-kept libraries: TRL's padding-free collator (position ids restart per example,
and transformers turns them into a block-diagonal mask, or flash-attention's varlen kernel
reads the sequence boundaries), transformers' length-grouped sampler, and the `liger-kernel`
package through transformers' own integration. docs/speed.md has the measurements.
"""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import asdict, dataclass, field
from typing import Any

from tuitune.hardware.estimate import Estimate, GiB
from tuitune.hardware.setup import DTYPE_BYTES, padding_free_mask_fits
from tuitune.preset.methods import PROMPT_METHODS, PROMPT_PADDING_FREE
from tuitune.weights.loading import ModelLoadError

# Model types whose transformers 5 code builds its mask with `masking_utils.create_causal_mask`
# (or its sliding-window twin), which reads restarting position ids as separate sequences: the
# families the planner knows. Code we have not read (remote code, other architectures) might
# let examples attend to each other, so `auto` keeps them padded.
PADDING_FREE_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3"})


class SpeedSettingError(ModelLoadError):
    """A speed switch set explicitly that cannot work here; the message says what to do."""


@dataclass
class Available:
    """What this machine offers: read once in the worker, passed in so the choice is testable."""

    cuda: bool
    flash_attn: bool = False
    liger: bool = False
    liger_types: frozenset[str] = frozenset()
    host_ram_free: int | None = None
    """Bytes of CPU RAM available now (what offloaded activations can take)."""

    @classmethod
    def detect(cls) -> Available:
        import torch

        from tuitune.doctor.checks import available_memory

        cuda = torch.cuda.is_available()
        liger = cuda and _installed("liger_kernel")
        types: frozenset[str] = frozenset()
        if liger:
            from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

            types = frozenset(MODEL_TYPE_TO_APPLY_LIGER_FN)
        return cls(cuda=cuda, flash_attn=cuda and _installed("flash_attn"), liger=liger, liger_types=types,
                   host_ram_free=available_memory())


@dataclass
class SpeedPlan:
    attention: str | None
    """What to ask transformers for; None: its own default (SDPA where the model has it)."""
    padding_free: bool
    packing: bool
    group_by_length: bool
    liger: bool
    pin_memory: bool
    activation_offloading: bool = False
    offload_by: str | None = None
    """Who offloads: ``trl`` (its CUDA manager), ``saved_tensor_hooks`` (tuitune's, on the CPU)."""
    reasons: dict[str, str] = field(default_factory=dict)

    def event_fields(self, loaded_attention: str | None = None) -> dict[str, Any]:
        fields = asdict(self)
        fields["attention"] = loaded_attention or self.attention or "sdpa"
        return fields

    def sft_config_kwargs(self, max_seq_len: int) -> dict[str, Any]:
        """SFTConfig fields. TRL refuses padding-free without packing while it owns truncation,
        so then we truncate the examples ourselves (:func:`truncate`) and hand it none."""
        return {
            "packing": self.packing,
            "padding_free": self.padding_free,
            "max_length": None if self.padding_free and not self.packing else max_seq_len,
            "train_sampling_strategy": "group_by_length" if self.group_by_length else "random",
            "dataloader_pin_memory": self.pin_memory,
            # TRL's manager needs an accelerator; on the CPU tuitune installs its hooks instead (offload.py).
            "activation_offloading": self.offload_by == "trl",
        }


def choose_attention(train: Any, *, device: str, precision: str, available: Available) -> tuple[str | None, str]:
    """(what to ask transformers for, why); decided before the model loads."""
    cuda = device == "cuda"
    attention = train.attn_implementation
    if attention == "flash_attention_2":
        if not (cuda and available.flash_attn):
            raise SpeedSettingError(
                "train.attn_implementation = 'flash_attention_2' needs a CUDA GPU and the flash-attn package "
                "(pip install flash-attn --no-build-isolation); set it to 'auto' or 'sdpa'")
        if precision not in ("bf16", "fp16"):
            raise SpeedSettingError("train.attn_implementation = 'flash_attention_2' needs train.precision bf16 or fp16")
        return attention, "set in the preset"
    if attention != "auto":
        return attention, "set in the preset"
    if cuda and available.flash_attn and precision in ("bf16", "fp16"):
        return "flash_attention_2", "CUDA with the flash-attn package"
    why = "no CUDA GPU" if not cuda else ("fp32 compute" if precision == "fp32" else "flash-attn not installed")
    return None, f"transformers' default, SDPA ({why})"


def choose_speed(train: Any, *, device: str, precision: str, model_type: str | None, trust_remote_code: bool,
                 available: Available, attention: tuple[str | None, str] | None = None,
                 planned: tuple[Estimate, Estimate] | None = None) -> SpeedPlan:
    """Resolve the preset's speed switches (``train`` is its TrainSection) for this machine;
    ``attention`` is :func:`choose_attention`'s answer when the model was loaded with it;
    ``planned``: the planner's estimates of the run without and with activation offloading on
    this GPU (:func:`plan_offloading`), which `auto` decides by."""
    cuda = device == "cuda"
    asked, why = attention or choose_attention(train, device=device, precision=precision, available=available)
    reasons = {"attention": why}

    packing = bool(train.packing)
    padding_free = train.padding_free
    if packing:
        padding_free, reasons["padding_free"] = True, "packing rows are always padding-free"
    elif padding_free == "auto" and train.method in PROMPT_METHODS:
        padding_free, reasons["padding_free"] = False, PROMPT_PADDING_FREE
    elif padding_free == "auto":
        tokens = train.batch_size * train.max_seq_len
        if trust_remote_code or (model_type or "") not in PADDING_FREE_TYPES:
            padding_free, reasons["padding_free"] = False, f"model type {model_type!r} not known to respect packed positions"
        elif train.batch_size == 1:
            padding_free, reasons["padding_free"] = False, "one example per batch: nothing to pad"
        elif not padding_free_mask_fits(tokens, DTYPE_BYTES[precision], asked or "sdpa"):
            padding_free = False
            reasons["padding_free"] = (f"{train.batch_size} x {train.max_seq_len} tokens would need a large dense "
                                       "mask without flash-attention")
        else:
            padding_free, reasons["padding_free"] = True, "variable-length examples, no padding"
    else:
        reasons["padding_free"] = "set in the preset"

    group = train.group_by_length
    if train.longest_first:
        # HF's length-grouped sampler puts the batch holding the longest example first in every
        # epoch: a batch that cannot fit fails in minute one.
        group, reasons["group_by_length"] = True, "train.longest_first: the longest batch comes first"
    elif group == "auto":
        group = not padding_free
        reasons["group_by_length"] = "padded batches" if group else "nothing is padded"
    else:
        reasons["group_by_length"] = "set in the preset"

    liger = train.liger
    liger_ok = cuda and available.liger and (model_type or "") in available.liger_types
    if liger is True and not liger_ok:
        raise SpeedSettingError(
            f"train.liger = true needs a CUDA GPU, the liger-kernel package (pip install liger-kernel) and a "
            f"supported architecture (this model: {model_type!r}); set it to 'auto' or false")
    if liger == "auto":
        liger = liger_ok
        if liger_ok:
            reasons["liger"] = "CUDA with liger-kernel"
        else:
            reasons["liger"] = ("no CUDA GPU" if not cuda else "liger-kernel not installed" if not available.liger
                                else f"liger-kernel has no kernels for {model_type!r}")
    else:
        reasons["liger"] = "set in the preset"

    offload, reasons["activation_offloading"] = choose_offloading(train, cuda=cuda, planned=planned,
                                                                  host_free=available.host_ram_free)
    return SpeedPlan(attention=asked, padding_free=bool(padding_free), packing=packing,
                     group_by_length=bool(group), liger=bool(liger), pin_memory=cuda,
                     activation_offloading=offload,
                     offload_by=("trl" if cuda else "saved_tensor_hooks") if offload else None, reasons=reasons)


def choose_offloading(train: Any, *, cuda: bool, planned: tuple[Estimate, Estimate] | None,
                      host_free: int | None) -> tuple[bool, str]:
    """(offload the saved activations?, why). `auto` turns it on only when the planner finds the
    run does not fit on the GPU without it and does with it, and the CPU RAM it takes is free."""
    asked = train.activation_offloading
    if not cuda:
        if asked is True:
            return True, ("set in the preset; on the CPU tuitune's saved-tensor hooks stand in for TRL's manager, "
                          "which needs a GPU, and nothing moves: the activations are in CPU memory already")
        return False, "no CUDA GPU: the activations are in CPU memory already"
    if asked is False:
        return False, "set in the preset"
    without, offloaded = planned if planned else (None, None)
    host = offloaded.host_bytes if offloaded else 0
    free = host_free if host_free is not None else host  # unknown: assume it is there
    short_of_ram = host > free
    if asked is True:
        if short_of_ram:
            raise SpeedSettingError(
                f"train.activation_offloading = true: the saved activations need about {_gib(host)} of pinned CPU "
                f"RAM and this machine has {_gib(free)} available; lower train.max_seq_len or train.batch_size, "
                "free some memory, or set it to 'auto' or false")
        return True, "set in the preset" + (f" (about {_gib(host)} of CPU RAM planned)" if host else "")
    if without is None or offloaded is None:
        return False, "the planner could not read the model's shape, so it cannot say offloading is needed"
    gpu = _gib(without.gpu_bytes or 0)
    if without.fits:
        return False, f"the run fits without it ({_gib(without.peak_bytes)} planned of {gpu} usable)"
    if not offloaded.fits:
        return False, (f"the run does not fit even with it ({_gib(offloaded.peak_bytes)} planned of {gpu} usable): "
                       "it would not help")
    if short_of_ram:
        return False, (f"it would fit with it, but the saved activations need about {_gib(host)} of CPU RAM and "
                       f"{_gib(free)} is available")
    return True, (f"the run needs {_gib(without.peak_bytes)} without it, {_gib(offloaded.peak_bytes)} with it, of "
                  f"{gpu} usable; about {_gib(offloaded.host_bytes)} of pinned CPU RAM")


def plan_offloading(preset: Any, method: str, precision: str, checkpointing: bool,
                    attention: str | None) -> tuple[Estimate, Estimate] | None:
    """The planner's estimates without and with offloading for this run on this GPU (once the
    model is loaded: its memory counts as usable, since the estimate includes the weights);
    None when the model's shape cannot be read (a remote-code architecture)."""
    import torch

    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.model_shape import load_shape
    from tuitune.hardware.plan import offloading_estimates, setup_from_preset
    from tuitune.hardware.setup import ATTENTIONS
    from tuitune.runs.refs import readable_ref

    free, _total = torch.cuda.mem_get_info()
    try:
        shape = load_shape(readable_ref(preset.model.path))
    except PlannerError:
        return None
    setup = setup_from_preset(preset, bf16=precision == "bf16").with_(
        method=method, grad_checkpointing=checkpointing, attention=attention if attention in ATTENTIONS else "auto")
    return offloading_estimates(shape, setup, free + torch.cuda.memory_reserved())


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def apply_liger(model: Any, plan: SpeedPlan) -> None:
    """Swap in Liger's RMSNorm, SwiGLU and RoPE kernels, through transformers' integration. Its
    fused linear cross-entropy stays off: TRL's SFTTrainer computes the loss with its own fused,
    chunked LM head, and refuses Liger's (which replaces the model's forward)."""
    if not plan.liger:
        return
    from transformers.integrations.liger import apply_liger_kernel

    apply_liger_kernel(model, {"rope": True, "rms_norm": True, "swiglu": True, "cross_entropy": False,
                               "fused_linear_cross_entropy": False})


def speed_report_callback(trainer: Any, events: Any, fields: dict[str, Any]) -> Any:
    """A callback that emits the ``speed`` event (the plan's ``fields``, and ``engaged``: what the
    trainer really runs with) as training begins, once the Trainer has switched on what it
    switches on only then (gradient checkpointing)."""
    from transformers import TrainerCallback

    class SpeedReport(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            events.emit("speed", **fields, engaged=engaged(trainer))

    return SpeedReport()


def engaged(trainer: Any) -> dict[str, Any]:
    """What the trainer really runs with, read back from its parts rather than from the plan: a
    switch can be asked for and silently not take (a kernel that patched nothing, a collator
    built without padding-free). `tuitune doctor --train` reports these."""
    model = trainer.model

    def from_liger(module: Any) -> bool:
        # Liger swaps whole modules (LigerSwiGLUMLP) or binds its forward to existing ones (RMSNorm).
        forward = getattr(getattr(module, "forward", None), "__func__", None)
        return any(getattr(x, "__module__", "").startswith("liger_kernel") for x in (type(module), forward))

    return {
        "attention": getattr(model.config, "_attn_implementation", None),
        "padding_free": bool(getattr(trainer.data_collator, "padding_free", False)),
        "liger": any(from_liger(m) for m in model.modules()),
        "gradient_checkpointing": bool(getattr(model, "is_gradient_checkpointing", False)),
        # TRL's own loss (`nll`) is its chunked LM head: the full logits never exist.
        "fused_loss": trainer.args.loss_type == "nll" and getattr(trainer, "compute_loss_func", None) is None,
        # TRL's manager, or our hooks on the CPU, sit where TRL's training_step enters them.
        "activation_offloading": not isinstance(getattr(trainer, "maybe_activation_offload_context", None),
                                                (contextlib.nullcontext, type(None))),
    }


def truncate(dataset: Any, max_len: int) -> Any:
    """Cut every example to ``max_len`` tokens (what TRL does itself for padded batches)."""
    if dataset is None:
        return None
    return dataset.map(lambda row: {k: row[k][:max_len] for k in ("input_ids", "labels")})


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def peak_memory_callback(events: Any) -> Any:
    """A callback that emits one ``memory`` event when training ends, with the process's peak:
    torch's allocator counters on CUDA, the peak resident set on the CPU, and the tokens of the
    largest micro-batch trained on (``max_batch_tokens``: what the planner's calibration compares
    at). Read once, never per step, so it adds no host sync to the training loop. The event's
    fields stay on the callback (``measured``) for the worker to record."""
    from transformers import TrainerCallback

    class PeakMemory(TrainerCallback):
        def __init__(self) -> None:
            self.max_batch_tokens = 0
            self.measured: dict[str, Any] | None = None

        def saw_batch(self, tokens: int) -> None:
            """Told by the trainer (train/trainer_base.py) the size of every micro-batch."""
            self.max_batch_tokens = max(self.max_batch_tokens, tokens)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            tokens = {"max_batch_tokens": self.max_batch_tokens} if self.max_batch_tokens else {}
            self.measured = {"step": state.global_step, **peak_memory(), **tokens}
            events.emit("memory", **self.measured)

    return PeakMemory()


def peak_memory() -> dict[str, int]:
    import resource

    import torch

    peak = {"max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peak["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
        peak["cuda_max_reserved_bytes"] = torch.cuda.max_memory_reserved()
    return peak
