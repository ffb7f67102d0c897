"""A deterministic train/validation split and the leakage check that follows it."""

from __future__ import annotations

import random
from typing import TypeVar

T = TypeVar("T")

MIN_ROWS_FOR_VAL = 10  # below this, holding rows out costs more than the estimate is worth


def split(items: list[T], val_fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """The same seed always gives the same split (and the same one tuitune 0.1 gave: a seeded
    shuffle, the first rows of it held out, the rest trained in shuffled order)."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    if val_fraction <= 0 or len(items) < MIN_ROWS_FOR_VAL:
        return [items[i] for i in order], []
    n_val = max(1, int(round(len(items) * val_fraction)))
    return [items[i] for i in order[n_val:]], [items[i] for i in order[:n_val]]
