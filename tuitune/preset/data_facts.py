"""What the guidance rules know about the training data (``DataFacts``): from the pipeline's
report once the worker has cleaned and tokenized, or estimated from characters before any
tokenizer is loaded (the fronts' preflight). Light core: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 3.6  # English text with BPE tokenizers; only used before a tokenizer is loaded
TEMPLATE_TOKENS = 12  # chat-template tokens around each turn (ChatML: ~5 per turn, system prompt aside)


@dataclass
class DataFacts:
    """What the rules need to know about the training data."""

    train_rows: int
    val_rows: int
    tokens: int  # total tokens in the training split
    mean_tokens: float
    p99_tokens: int
    truncated_fraction: float = 0.0
    estimated: bool = False  # token figures estimated from characters (no tokenizer yet)
    desirable: int | None = None  # unpaired preference rows (KTO): answers marked good ...
    undesirable: int | None = None  # ... and bad; None for other data
    repeat_factor: int | None = None  # the file repeats every row about this many times on purpose
    repeats_dropped: int = 0  # ... and cleaning dropped this many repeats (report step deliberate_repeat)
    knowledge_like: bool = False  # short answers shared by several questions (tuitune.data.shape)
    facts: int = 0  # distinct answers

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> DataFacts:
        """From the data pipeline's report.json (``tuitune.data.pipeline.prepare``)."""
        split, tokens = report["split"], report["stats"].get("tokens") or {}
        train, val = split["train"], split["val"]
        mean = float(tokens.get("mean") or 0.0)
        labels = report.get("labels") or {}
        shape = report.get("shape") or {}
        return cls(train, val, round(mean * train), mean, int(tokens.get("p99") or 0),
                   float(tokens.get("truncated_fraction") or 0.0),
                   desirable=labels.get("desirable"), undesirable=labels.get("undesirable"),
                   **_shape_facts(shape, report.get("steps") or {}))

    @classmethod
    def estimate(cls, examples: list[Any], train_rows: int, val_rows: int, max_seq_len: int,
                 shape: dict[str, Any] | None = None) -> DataFacts:
        """From imported examples, before any tokenizer is loaded (the fronts' preflight); ``shape``
        is tuitune.data.shape.describe's (the repeats counted as cleaning will drop them)."""
        lengths = sorted(
            round(sum(len(t) for t in e.texts()) / CHARS_PER_TOKEN) + TEMPLATE_TOKENS * len(e.texts()) for e in examples
        ) or [0]
        mean = sum(lengths) / len(lengths)
        p99 = lengths[max(0, math.ceil(0.99 * len(lengths)) - 1)]
        over = sum(n > max_seq_len for n in lengths) / len(lengths)
        good, bad = label_counts(examples)
        extra = _shape_facts(shape or {}, {})
        if extra["repeat_factor"]:
            extra["repeats_dropped"] = len(examples) - train_rows - val_rows
        return cls(train_rows, val_rows, round(mean * train_rows), round(mean, 1), p99, round(over, 4), estimated=True,
                   desirable=good, undesirable=bad, **extra)


def label_counts(examples: list[Any]) -> tuple[int | None, int | None]:
    """(good, bad) answers of unpaired preference rows (KTO's `label`); (None, None) for other data."""
    labels = [e.data["label"] for e in examples if isinstance(getattr(e, "data", None), dict) and "label" in e.data]
    if not labels:
        return None, None
    good = sum(1 for label in labels if label)
    return good, len(labels) - good


def _shape_facts(shape: dict[str, Any], steps: dict[str, int]) -> dict[str, Any]:
    return {"repeat_factor": shape.get("repeat_factor"), "repeats_dropped": int(steps.get("deliberate_repeat") or 0),
            "knowledge_like": bool(shape.get("knowledge_like")), "facts": int(shape.get("facts") or 0)}
