"""Several data sources in one run (``[data] mix`` or ``paths``): each is read, validated,
cleaned and split on its own — so each has its own report and the validation split covers
each — and the training rows are then drawn to the weights.

The mixed training set has as many rows as the sources hold together; each source gives
``weight × that`` rows, drawn without repetition when it has enough and repeated (whole
copies, then a seeded draw) when it has fewer — a small general set mixed at 10 % into a big
task set is repeated rather than shrinking the task set to fit it. Light core.
"""

from __future__ import annotations

import random
from typing import Any

from tuitune.data.schema import DataError, Example

OTHER_KEYS = ("mix", "paths")


def sources(section: Any) -> list[tuple[str, float]]:
    """(path, weight) of every source; ``data.path`` first, with the weight the others leave."""
    mix = list(getattr(section, "mix", None) or [])
    paths = list(getattr(section, "paths", None) or [])
    if mix:
        return [(section.path, 1 - sum(m.weight for m in mix)), *((m.path, m.weight) for m in mix)]
    if paths:
        share = 1 / (len(paths) + 1)
        return [(section.path, share), *((p, share) for p in paths)]
    return [(section.path, 1.0)]


def source_section(section: Any, path: str) -> Any:
    """The section as if ``path`` were its only source (the other settings kept)."""
    return section.model_copy(update={"path": path, "mix": [], "paths": []})


def draw(trains: list[list[Example]], weights: list[float], seed: int) -> tuple[list[Example], list[int]]:
    """The training rows drawn to ``weights``, shuffled together; and how many each gave."""
    total = sum(len(t) for t in trains)
    rng = random.Random(seed)
    counts = _counts(total, weights)
    out: list[Example] = []
    for rows, count in zip(trains, counts, strict=True):
        if not rows and count:
            raise DataError("a mixed source has no training rows left after cleaning; its report says why")
        whole, rest = divmod(count, len(rows)) if rows else (0, 0)
        out += rows * whole + rng.sample(rows, rest)
    rng.shuffle(out)
    return out, counts


def _counts(total: int, weights: list[float]) -> list[int]:
    """Whole row counts adding up to ``total``, each as near ``weight × total`` as can be."""
    exact = [w * total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    return counts
