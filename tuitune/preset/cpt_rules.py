"""Guided defaults for continued pretraining (``stage = "cpt"``), one rule each, with the reason
a person reads. guidance.py asks these for a CPT run; docs/cpt.md gives the sources.

The anchors: LLaMA-Factory's pretraining example (LoRA, lr 1e-4, 3 epochs), Unsloth's CPT
notebooks (LoRA r128 with rsLoRA, lr 5e-5, embeddings at a tenth of it), and our measurement on
SmolLM2-135M (LoRA r32, lr 5e-4: held-out perplexity down ~8x in 3 epochs on a few KB).
Light core: no torch.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

MAX_EPOCHS = 10


def learning_rate(method: str, params: int | None) -> tuple[float, str]:
    b = (params or 7e9) / 1e9
    if method == "full":
        if b < 1:
            return 5e-5, "continued pretraining, full, small model: 5e-5 (as SFT: small models take larger rates)"
        return 1e-5, ("continued pretraining, full: 1e-5, about the end of a pretraining schedule, so the "
                      "model does not forget what it knew")
    if b < 1:
        return 5e-4, "continued pretraining with LoRA on a model under 1B: 5e-4 (measured on SmolLM2-135M)"
    if b < 20:
        return 1e-4, "continued pretraining with LoRA: 1e-4 (LLaMA-Factory's pretraining recipe)"
    return 5e-5, "continued pretraining with LoRA on a large model: 5e-5 (Unsloth's CPT notebooks)"


def epochs(tokens: int, steps_per_epoch: int, min_steps: int) -> tuple[float, str]:
    """From the corpus size: a small corpus is read several times, a large one once."""
    if tokens < 1_000_000:
        value, why = 3.0, f"{_count(tokens)} tokens: 3 passes, as LLaMA-Factory's pretraining example"
    elif tokens < 100_000_000:
        value, why = 2.0, f"{_count(tokens)} tokens: 2 passes"
    else:
        value, why = 1.0, f"{_count(tokens)} tokens: one pass, as pretraining reads its corpus"
    if value * steps_per_epoch < min_steps:
        raised = float(min(MAX_EPOCHS, math.ceil(min_steps / steps_per_epoch)))
        if raised > value:
            value, why = raised, (f"a small corpus ({_count(tokens)} tokens): {raised:g} passes for ~{min_steps} "
                                  "steps; facts need more passes than the perplexity suggests (docs/cpt.md)")
    return value, why


def lora_rank(tokens: int) -> tuple[int, str]:
    """Higher than SFT's: new knowledge needs more room than a style does."""
    if tokens < 20_000_000:
        return 64, (f"{_count(tokens)} tokens of documents: r64, four times SFT's, since new knowledge needs "
                    "more room than a style (Unsloth uses r128 for CPT)")
    return 128, f"{_count(tokens)} tokens of documents: r128, as Unsloth's CPT notebooks"


def as_windows(data: Any, max_seq_len: int) -> Any:
    """Facts estimated per document (the fronts, before a tokenizer) as the worker counts them:
    the trainer's rows are full ``max_seq_len`` windows, documents joined."""
    if not data.estimated:
        return data  # the worker's report already counts windows (data/corpus.py)
    train = max(1, math.ceil((data.tokens + data.train_rows) / max_seq_len))
    val = math.ceil((data.mean_tokens + 1) * data.val_rows / max_seq_len)
    return replace(data, train_rows=train, val_rows=val, tokens=train * max_seq_len, mean_tokens=float(max_seq_len),
                   p99_tokens=max_seq_len, truncated_fraction=0.0)


def _count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)
