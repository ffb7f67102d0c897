"""A deterministic train/validation split and the leakage check that follows it."""

from __future__ import annotations

import random
from typing import TypeVar

T = TypeVar("T")

MIN_ROWS_FOR_VAL = 10  # below this, holding rows out costs more than the estimate is worth


def split(items: list[T], val_fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """The same seed always gives the same split; train keeps the file's order."""
    if val_fraction <= 0 or len(items) < MIN_ROWS_FOR_VAL:
        return list(items), []
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(round(len(items) * val_fraction)))
    held = set(order[:n_val])
    val = [items[i] for i in order[:n_val]]
    train = [items[i] for i in range(len(items)) if i not in held]
    return train, val
