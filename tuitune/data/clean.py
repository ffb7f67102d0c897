"""Cleaning steps, each switchable and counted: whitespace, empty turns and rows, exact and near
duplicates, token-length bounds, degenerate preference pairs, and train/validation leakage.

Every row a step removes becomes a ``Rejected`` with its reason; the report counts them per
step. Nothing is dropped without a line saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from tuitune.data.dedup import exact_duplicates, near_duplicates, normalized
from tuitune.data.schema import Example, Rejected

_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_INVISIBLE = re.compile("[\ufeff\u200b]")


@dataclass
class CleanSettings:
    """What cleaning does; every field matches a ``[data]`` preset key of the same name."""

    normalize_whitespace: bool = True
    drop_empty: bool = True
    dedup_exact: bool = True
    dedup_near: bool = True
    near_threshold: float = 0.9
    min_tokens: int | None = None
    max_tokens: int | None = None
    drop_degenerate_pairs: bool = True
    fix_leakage: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ref(where: str) -> str:
    """``file:12`` → ``line 12``; ``file[3]`` → ``row [3]``: the file is already named once."""
    head, _, tail = where.rpartition(":")
    if head and tail.isdigit():
        return f"line {tail}"
    return "row [" + where.rsplit("[", 1)[1] if where.endswith("]") else where


def tidy(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row, no outer whitespace."""
    # Each regex runs only when its cheap substring test says it could match: most rows are
    # clean, and this is the hottest loop of cleaning.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\ufeff" in text or "\u200b" in text:
        text = _INVISIBLE.sub("", text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING.sub("", text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def _messages_of(example: Example) -> list[list[dict[str, str]]]:
    return [example.data[k] for k in ("messages", "prompt", "chosen", "rejected") if k in example.data]


def normalize_whitespace(example: Example) -> bool:
    changed = False
    if example.kind == "text":
        new = tidy(example.data["text"])
        changed, example.data["text"] = new != example.data["text"], new
        return changed
    for messages in _messages_of(example):
        for m in messages:
            new = tidy(m["content"])
            changed |= new != m["content"]
            m["content"] = new
    return changed


def drop_empty_system_turns(example: Example) -> int:
    """An empty system message says nothing: remove it (the row stays). Returns how many."""
    removed = 0
    for messages in _messages_of(example):
        kept = [m for m in messages if m["role"] != "system" or m["content"].strip()]
        removed += len(messages) - len(kept)
        messages[:] = kept
    return removed


def empty_problem(example: Example) -> str | None:
    """Why a row is empty (nothing to learn from), else None."""
    if example.kind == "text":
        return "the text is empty" if not example.data["text"].strip() else None
    for key in ("messages", "prompt", "chosen", "rejected"):
        for i, m in enumerate(example.data.get(key, ())):
            if not m["content"].strip() and key not in ("chosen", "rejected"):
                return f"an empty {m['role']} turn ({key}[{i}])"
    return None


def degenerate_problem(example: Example) -> str | None:
    if example.kind != "preference":
        return None
    chosen = [normalized(m["content"]) for m in example.data["chosen"]]
    rejected = [normalized(m["content"]) for m in example.data["rejected"]]
    if not any(chosen) or not any(rejected):
        return "a preference pair with an empty " + ("chosen" if not any(chosen) else "rejected") + " answer"
    if chosen == rejected:
        return "a preference pair whose chosen and rejected answers are the same"
    return None


def clean(
    examples: list[Example],
    settings: CleanSettings,
    measure: Callable[[list[Example]], list[int]] | None = None,
    repeat_factor: int | None = None,
) -> tuple[list[Example], list[Rejected], dict[str, int], list[int] | None]:
    """Run the enabled steps in order; returns (kept, rejected, counts, token lengths of kept).

    ``repeat_factor`` (tuitune.data.shape.deliberate_repeat): the file repeats every row about
    this many times on purpose. Exact dedup still drops the repeats, so that no held-out row has
    a copy in training, but counts them as ``deliberate_repeat`` (the guidance multiplies the
    epochs by the factor instead); accidental duplicates stay ``exact_duplicate``.

    ``measure`` (examples → tokens each) enables the token bounds and the token statistics. It
    runs after the text is tidied and the empty rows are gone, so the lengths are the final ones
    and nothing is tokenized in vain.
    """
    counts: dict[str, int] = {}
    rejected: list[Rejected] = []
    keep = list(range(len(examples)))

    def drop(step: str, why: Callable[[int], str | None]) -> None:
        nonlocal keep
        kept = []
        for i in keep:
            reason = why(i)
            if reason:
                rejected.append(Rejected(examples[i].where, reason, step, examples[i].data))
            else:
                kept.append(i)
        counts[step] = len(keep) - len(kept)
        keep = kept

    if settings.normalize_whitespace:
        counts["whitespace_normalized"] = sum(normalize_whitespace(examples[i]) for i in keep)
    if settings.drop_empty:
        counts["empty_system_turns_removed"] = sum(drop_empty_system_turns(examples[i]) for i in keep)
        drop("empty", lambda i: empty_problem(examples[i]))
    if settings.drop_degenerate_pairs:
        drop("degenerate_pair", lambda i: degenerate_problem(examples[i]))
    lengths: dict[int, int] | None = None
    if measure is not None:
        lengths = dict(zip(keep, measure([examples[i] for i in keep]), strict=False))
        if settings.min_tokens or settings.max_tokens:
            low, high = settings.min_tokens or 0, settings.max_tokens or float("inf")
            drop("token_bounds", lambda i: None if low <= lengths[i] <= high
                 else f"{lengths[i]} tokens, outside the bounds [{low}, {settings.max_tokens or '∞'}]")
    if settings.dedup_exact:
        sub = [examples[i] for i in keep]
        dupes = {keep[k]: keep[v] for k, v in exact_duplicates(sub).items()}
        if repeat_factor:
            drop("deliberate_repeat", lambda i: f"a deliberate repeat of {ref(examples[dupes[i]].where)} (the file "
                 f"repeats its rows about {repeat_factor} times; the epochs are multiplied by {repeat_factor} "
                 "instead)" if i in dupes else None)
        else:
            drop("exact_duplicate", lambda i: f"an exact duplicate of {ref(examples[dupes[i]].where)}" if i in dupes else None)
    if settings.dedup_near:
        sub = [examples[i] for i in keep]
        near = {keep[k]: (keep[j], s) for k, (j, s) in near_duplicates(sub, settings.near_threshold).items()}
        drop("near_duplicate", lambda i: f"a near duplicate (similarity {near[i][1]:.2f}) of "
             f"{ref(examples[near[i][0]].where)}" if i in near else None)
    return [examples[i] for i in keep], rejected, counts, [lengths[i] for i in keep] if lengths is not None else None


def fix_leakage(train: list[Example], val: list[Example]) -> tuple[list[Example], list[Example], int]:
    """Validation rows whose prompt also appears in train measure memory, not generalization:
    they move to train (nothing is lost). Returns the new train, val and how many moved."""
    seen = {normalized(e.prompt_text()) for e in train}
    leaked = [e for e in val if normalized(e.prompt_text()) in seen]
    if not leaked:
        return train, val, 0
    ids = {id(e) for e in leaked}
    return train + leaked, [e for e in val if id(e) not in ids], len(leaked)
