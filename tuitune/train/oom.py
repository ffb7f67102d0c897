"""Out of memory in the worker: recognise it, say what to lower and by how much, and work out
the next setting for ``train.on_oom = "retry"``.

Retrying halves the micro-batch and doubles gradient accumulation, so the optimizer sees the
same effective batch and the run's learning-rate schedule stays valid. Light: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuitune.errors import TuituneError


class OutOfMemory(TuituneError):
    """Training ran out of memory and will not retry; the message says what to lower."""


@dataclass
class Batching:
    batch_size: int
    grad_accum: int

    @property
    def effective(self) -> int:
        return self.batch_size * self.grad_accum

    def halved(self) -> Batching | None:
        """Half the micro-batch, twice the accumulation; None when the batch is already 1."""
        if self.batch_size <= 1:
            return None
        return Batching(self.batch_size // 2, self.grad_accum * 2)


def advice(train: Any, device: str, planner_note: str | None = None) -> list[str]:
    """What to lower, by how much, most effective first."""
    now = Batching(train.batch_size, train.grad_accum or 1)  # None: guidance not resolved yet
    items = []
    smaller = now.halved()
    if smaller:
        items.append(
            f"train.batch_size {now.batch_size} → {smaller.batch_size} with train.grad_accum "
            f"{now.grad_accum} → {smaller.grad_accum} (same effective batch of {smaller.effective}"
            + ("" if smaller.effective == now.effective else f" instead of {now.effective}") + ")"
        )
    items.append(f"train.max_seq_len {train.max_seq_len} → {max(16, train.max_seq_len // 2)} "
                 "(activations shrink in proportion)")
    if device == "cuda":
        if train.gradient_checkpointing is not True:
            items.append("train.gradient_checkpointing = true (activations ~5x smaller, ~30% slower)")
        if train.activation_offloading is not True and train.stage == "sft":
            items.append("train.activation_offloading = true (the saved activations move to CPU RAM; for long contexts)")
        if train.method in ("full", "lora", "auto"):
            items.append("method = \"qlora\" (a 4-bit base: about a quarter of the weights' memory)")
    if planner_note:
        items.append(planner_note)
    return items


def message(error: BaseException, train: Any, device: str, planner_note: str | None = None) -> str:
    where = "GPU" if device == "cuda" else "CPU RAM"
    lines = "; ".join(advice(train, device, planner_note))
    detail = str(error).split("\n")[0][:200]
    return (f"out of memory ({where}{': ' + detail if detail else ''}). Lower, in this order: {lines}. "
            "Or set train.on_oom = \"retry\" to let tuitune halve the batch itself; then `tuitune runs resume`.")


def planner_note(preset: Any) -> str | None:
    """The planner's recommendation for this GPU, when there is one and the model's shape is known."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        _free, total = torch.cuda.mem_get_info()
        from tuitune.hardware.plan import recommend_for
        from tuitune.runs.refs import readable_ref

        rec = recommend_for(readable_ref(preset.model.path), total, max_seq_len=preset.train.max_seq_len)
    except Exception:  # noqa: BLE001 - advice is best effort; the OOM itself is what gets reported
        return None
    if rec.chosen:
        return "the planner suggests for this GPU: " + ", ".join(rec.preset_overrides())
    return "the planner: " + "; ".join(rec.advice) if rec.advice else None
