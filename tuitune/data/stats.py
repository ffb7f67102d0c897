"""Length statistics: characters and turns always; tokens (p50/p90/p99/max and the share that
``max_seq_len`` would truncate) when a tokenizer is given. The token figures feed the planner.

The tokenizer (transformers) is only ever passed in; this module never imports it.
"""

from __future__ import annotations

import math
from typing import Any

from tuitune.data.schema import Example

BATCH = 512  # texts per tokenizer call: the fast tokenizers batch in Rust


def percentiles(values: list[int]) -> dict[str, float]:
    """Nearest-rank percentiles (no interpolation: every figure is a real row's length)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def rank(p: float) -> int:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"count": len(ordered), "mean": round(sum(ordered) / len(ordered), 1), "p50": rank(50),
            "p90": rank(90), "p99": rank(99), "max": ordered[-1]}


def char_stats(examples: list[Example]) -> dict[str, Any]:
    chars = [sum(len(t) for t in e.texts()) for e in examples]
    turns = [len(e.texts()) for e in examples if e.kind != "text"]
    return {"chars": percentiles(chars), "turns": percentiles(turns) if turns else None}


def rendered_texts(example: Example, tokenizer: Any) -> list[str]:
    """What the model sees: the chat template applied (each side of a pair), or the raw text."""
    from tuitune.train.tokenize import render

    d = example.data
    if example.kind == "text":
        return [d["text"]]
    if example.kind == "preference":
        return [render(tokenizer, d["prompt"] + d["chosen"]), render(tokenizer, d["prompt"] + d["rejected"])]
    return [render(tokenizer, d["messages"])]


def prompt_text(example: Example, tokenizer: Any) -> list[str]:
    """What comes before the last answer, up to the assistant's header: if ``max_seq_len`` cuts
    inside it, that row teaches nothing at all."""
    from tuitune.train.tokenize import render

    d = example.data
    if example.kind == "text":
        return []
    if example.kind == "preference":
        return [render(tokenizer, d["prompt"], generation_prompt=True)]
    last = max(i for i, m in enumerate(d["messages"]) if m["role"] == "assistant")
    return [render(tokenizer, d["messages"][:last], generation_prompt=True)]


def token_lengths(examples: list[Example], tokenizer: Any, texts_of: Any = rendered_texts) -> list[int]:
    """Tokens per example (the longer side of a preference pair); ``texts_of`` picks what to
    count (default: the whole rendered example)."""
    texts, owner = [], []
    for i, e in enumerate(examples):
        for t in texts_of(e, tokenizer):
            texts.append(t)
            owner.append(i)
    lengths = [0] * len(examples)
    for start in range(0, len(texts), BATCH):
        ids = tokenizer(texts[start : start + BATCH], add_special_tokens=False)["input_ids"]
        for i, row in zip(owner[start : start + BATCH], ids):
            lengths[i] = max(lengths[i], len(row))
    return lengths


def token_stats(lengths: list[int], max_seq_len: int | None, prompt_lengths: list[int] | None = None) -> dict[str, Any]:
    """Percentiles and total; with ``max_seq_len``, how many rows it truncates, and (given the
    prompt lengths) how many it cuts before the answer even starts."""
    stats: dict[str, Any] = percentiles(lengths)
    stats["total"] = sum(lengths)
    if max_seq_len:
        over = sum(n > max_seq_len for n in lengths)
        stats |= {"max_seq_len": max_seq_len, "truncated_rows": over,
                  "truncated_fraction": round(over / len(lengths), 4) if lengths else 0.0}
        if prompt_lengths is not None:
            stats["answer_cut_rows"] = sum(n >= max_seq_len for n in prompt_lengths)
    return stats
