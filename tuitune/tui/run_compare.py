"""Two runs side by side, UI-free: their loss curves and what differs between them (every
preset key whose value differs, plus the outcome). Read from the run directories alone."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from tuitune.events import read_events
from tuitune.runs.series import Point
from tuitune.runs.store import RunDir, RunStoreError
from tuitune.tui.run_rows import run_row

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ALWAYS = ("model.path", "data.path", "train.stage", "train.method")


@dataclass
class RunCurves:
    train: list[Point] = field(default_factory=list)
    eval: list[Point] = field(default_factory=list)


def curves(run: RunDir) -> RunCurves:
    """Training and validation loss by step; a resumed stretch replaces the steps it repeats."""
    out = RunCurves()
    for e in read_events(run.events):
        series = out.train if e.get("type") == "step" else out.eval if e.get("type") == "eval" else None
        if series is None or not isinstance(e.get("loss"), (int, float)):
            continue
        while series and series[-1][0] >= e["step"]:
            series.pop()
        series.append((e["step"], e["loss"]))
    return out


def flat_config(run: RunDir) -> dict[str, Any]:
    try:
        data = tomllib.loads(run.config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat[prefix] = value

    walk("", data)
    return flat


def compare_rows(a: RunDir, b: RunDir) -> list[tuple[str, str, str]]:
    """(what, run a, run b): the outcome first, then the preset keys that matter or differ."""
    rows = []
    try:
        ra, rb = run_row(a), run_row(b)
        for label in ("status", "step", "loss", "duration"):
            rows.append((label, getattr(ra, label), getattr(rb, label)))
    except RunStoreError:
        pass
    ca, cb = curves(a), curves(b)
    rows.append(("val loss", _last(ca.eval), _last(cb.eval)))
    fa, fb = flat_config(a), flat_config(b)
    for key in sorted(set(fa) | set(fb), key=lambda k: (k not in ALWAYS, k)):
        va, vb = fa.get(key, "–"), fb.get(key, "–")
        if key in ALWAYS or va != vb:
            rows.append((key, str(va), str(vb)))
    return rows


def _last(points: list[Point]) -> str:
    return f"{points[-1][1]:.4f}" if points else "–"
