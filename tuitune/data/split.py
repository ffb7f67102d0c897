"""A deterministic train/validation split, how much to hold out when the preset says ``auto``,
and the leakage check that follows it."""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MIN_ROWS_FOR_VAL = 10  # below this, holding rows out costs more than the estimate is worth
AUTO_FRACTION = 0.05
# Fewer validation rows than this measure noise: `auto` holds none out (and the guidance turns
# early stopping off), rather than stopping a run on two rows.
MIN_VAL_ROWS = 10


def val_fraction_for(value: Any, rows: int, knowledge_like: bool = False) -> tuple[float, str]:
    """``data.val_fraction`` resolved: a number as given; ``auto`` → 5 %, except for knowledge-like
    data (every phrasing of every fact should train) and for data too small to give
    ``MIN_VAL_ROWS`` validation rows at 5 %. Returns (fraction, reason)."""
    if value is not None and value != "auto":
        return float(value), "set in the preset"
    if knowledge_like:
        return 0.0, ("0: knowledge-like data (several questions share each answer), so every phrasing of every fact "
                     "trains; score held-out phrasings with `tuitune eval RUN --data FILE`")
    if round(rows * AUTO_FRACTION) < MIN_VAL_ROWS:
        return 0.0, (f"0: {rows} rows would give {round(rows * AUTO_FRACTION)} validation rows at 5%, too few to "
                     f"trust (under {MIN_VAL_ROWS}); every row trains")
    return AUTO_FRACTION, f"5% of {rows} rows"


def split(items: list[T], val_fraction: float | str | None, seed: int,
          group: Callable[[T], Hashable] | None = None) -> tuple[list[T], list[T]]:
    """The same seed always gives the same split (and the same one tuitune 0.1 gave: a seeded
    shuffle, the first rows of it held out, the rest trained in shuffled order).

    ``group`` (an item → key): items with the same key land on the same side, whole groups held
    out until the share is reached — all phrasings of one fact train, or all are validated.
    ``auto`` (None) is resolved by :func:`val_fraction_for`, without knowing the data's kind."""
    fraction = val_fraction_for(val_fraction, len(items))[0] if val_fraction in (None, "auto") else float(val_fraction)
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    if fraction <= 0 or len(items) < MIN_ROWS_FOR_VAL:
        return [items[i] for i in order], []
    n_val = max(1, int(round(len(items) * fraction)))
    if group is None:
        return [items[i] for i in order[n_val:]], [items[i] for i in order[:n_val]]
    keys = [group(items[i]) for i in order]
    held: set[Hashable] = set()
    count = 0
    for key in dict.fromkeys(keys):  # groups in the order of their first shuffled row
        if count >= n_val:
            break
        held.add(key)
        count += keys.count(key)
    if len(held) == len(set(keys)):  # never hold out every group: keep the last for training
        held.discard(keys[-1])
    return ([items[i] for i, k in zip(order, keys, strict=True) if k not in held],
            [items[i] for i, k in zip(order, keys, strict=True) if k in held])
