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
    from tuitune.data.tokenize import render

    d = example.data
    if example.kind == "text":
        return [d["text"]]
    if example.kind == "preference":
        return [render(tokenizer, d["prompt"] + d["chosen"]), render(tokenizer, d["prompt"] + d["rejected"])]
    if example.kind == "choice":
        return [render(tokenizer, d["prompt"] + [{"role": "assistant", "content": c}]) for c in d["choices"]]
    return [render(tokenizer, d["messages"])]


def prompt_text(example: Example, tokenizer: Any) -> list[str]:
    """What comes before the last answer, up to the assistant's header: if ``max_seq_len`` cuts
    inside it, that row teaches nothing at all."""
    from tuitune.data.tokenize import render

    d = example.data
    if example.kind == "text":
        return []
    if example.kind in ("preference", "choice"):
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
        for i, row in zip(owner[start : start + BATCH], ids, strict=False):
            lengths[i] = max(lengths[i], len(row))
    return lengths


def histogram(values: list[int], max_bins: int = 12) -> dict[str, Any]:
    """Counts in equal bins of a round width (1, 2 or 5 times a power of ten) from 0 past the
    largest value: ``{"width": w, "counts": [...]}``, bin i holding values in [i*w, (i+1)*w)."""
    if not values:
        return {"width": 1, "counts": []}
    top = max(values) + 1
    width = 1
    while math.ceil(top / width) > max_bins:
        width = _next_round(width)
    counts = [0] * math.ceil(top / width)
    for v in values:
        counts[v // width] += 1
    return {"width": width, "counts": counts}


def histogram_lines(hist: dict[str, Any], max_seq_len: int | None = None, width: int = 30) -> list[str]:
    """The histogram as text rows, ``  128–191  ████████  41``; bins past ``max_seq_len`` (rows
    that will be cut) are drawn ``░``, and the bin it falls in says so."""
    counts, step = hist.get("counts") or [], hist.get("width", 1)
    nonzero = [i for i, n in enumerate(counts) if n]
    if not nonzero:
        return []
    most = max(counts)
    digits = len(str(len(counts) * step))
    lines = []
    for i in range(nonzero[0], nonzero[-1] + 1):
        lo, hi, n = i * step, (i + 1) * step - 1, counts[i]
        cut = max_seq_len is not None and lo > max_seq_len
        partly = max_seq_len is not None and lo <= max_seq_len < hi
        bar = ("░" if cut else "█") * (max(1, round(width * n / most)) if n else 0)
        note = " (cut)" if cut and n else f" (over {max_seq_len}: cut)" if partly and n else ""
        lines.append(f"{lo:>{digits}}–{hi:<{digits}} {bar:{width}} {n}{note}")
    return lines


def _next_round(width: int) -> int:
    """1 → 2 → 5 → 10 → 20 → 50 → …"""
    magnitude = 10 ** (len(str(width)) - 1)
    lead = width // magnitude
    return {1: 2, 2: 5, 5: 10}[lead] * magnitude


def token_stats(lengths: list[int], max_seq_len: int | None, prompt_lengths: list[int] | None = None) -> dict[str, Any]:
    """Percentiles and total; with ``max_seq_len``, how many rows it truncates, and (given the
    prompt lengths) how many it cuts before the answer even starts."""
    stats: dict[str, Any] = percentiles(lengths)
    stats["total"] = sum(lengths)
    stats["histogram"] = histogram(lengths)
    if max_seq_len:
        over = sum(n > max_seq_len for n in lengths)
        stats |= {"max_seq_len": max_seq_len, "truncated_rows": over,
                  "truncated_fraction": round(over / len(lengths), 4) if lengths else 0.0}
        if prompt_lengths is not None:
            stats["answer_cut_rows"] = sum(n >= max_seq_len for n in prompt_lengths)
    return stats
