"""The axes and legends every chart of a run shares, so that they read alike and line up.

- :func:`nice_ticks`: round tick values (1, 2, 2.5 or 5 times a power of ten) covering a range,
  labelled by :func:`tick_label` at one precision per axis (``0.0005`` reads ``5e-4``);
- :func:`draw_axes`: one step axis for every chart of a run (0 to the run's total steps when
  known), round y ticks, and the legend in the title, outside the plot, where it hides no point;
- :data:`MARKERS`: a different marker per series, so that the series differ on a terminal with
  few colours too (and in a text snapshot).

UI-free apart from the plotext figure it is handed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tuitune.runs.series import Point

MARKERS = ("braille", "dot", "x", "+")
"""Marker per series, in order: a braille line first, then single-character marks."""
MARK_TEXT = {"braille": "⣀⣀", "dot": "•", "x": "x", "+": "+", "o": "o"}
"""How a marker looks in the legend."""


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values from below ``lo`` to above ``hi`` (both included)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [_clean(n * step) for n in range(first, last + 1)]


def tick_label(value: float, step: float) -> str:
    """``value`` at the precision its axis's ``step`` needs; tiny or huge scales in e-notation."""
    step = _clean(step)  # a difference of two ticks carries float noise
    if value == 0:
        return "0"
    if abs(step) < 1e-3 or abs(value) >= 1e6:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    decimals = max(0, -math.floor(math.log10(abs(step)) + 1e-9))
    if decimals and round(step, decimals) != step:
        decimals += 1  # a step of 0.25 needs two decimals, not one
    return f"{value:.{decimals}f}"


def legend(title: str, entries: Iterable[tuple[str, str]]) -> str:
    """The chart's title with its legend: ``loss   ⣀⣀ train   o validation``."""
    parts = [f"{MARK_TEXT.get(marker, marker)} {name}" for name, marker in entries]
    return "   ".join([title, *parts]) if parts else title


def draw_axes(plt: Any, series: Iterable[list[Point]], total_steps: int | None, width: int, height: int) -> None:
    """The step axis (0 to ``total_steps``, else to the last step drawn) and round y ticks."""
    points = [p for s in series for p in s]
    if not points:
        return
    x_hi = total_steps or max(x for x, _ in points)
    xs = [t for t in nice_ticks(0, max(1, x_hi), max(3, min(8, width // 10))) if t == int(t) and t <= x_hi]
    plt.xlim(0, x_hi)
    plt.xticks(xs, [str(int(t)) for t in xs])
    lo, hi = min(y for _, y in points), max(y for _, y in points)
    rows = max(1, height - 5)  # the plot's own rows: the title, the x axis and its label take the rest
    ys = nice_ticks(lo, hi, max(2, rows) if rows <= 4 else min(6, rows // 2))
    if len(ys) >= 2:
        step = ys[1] - ys[0]
        plt.ylim(ys[0], ys[-1])
        plt.yticks(ys, [tick_label(y, step) for y in ys])


def _clean(value: float) -> float:
    """A tick value without float noise (0.30000000000000004 → 0.3)."""
    return float(f"{value:.12g}")
