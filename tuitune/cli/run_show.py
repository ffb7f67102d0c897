"""`tuitune runs show`'s longer sections: the guided choices with their reasons, the coach's
warnings, the probe answers of the base and the tuned model side by side, and the latest
evaluation. Light core."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tuitune.runs import evals
from tuitune.runs.store import RunDir

WIDTH = 48  # characters per answer column


def show_guidance(run_path: Path) -> None:
    try:
        data = json.loads((run_path / "guidance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    print(f"\nguided: {data['summary']}")
    for key, c in data["choices"].items():
        print(f"  {key} = {c['value']}  ({'auto: ' + c['reason'] if c['auto'] else c['reason']})")


def show_warnings(events: list[dict[str, Any]]) -> None:
    warnings = [e for e in events if e["type"] == "warning"]
    if warnings:
        print("\nwarnings:")
        for e in warnings:
            where = f"step {e['step']}: " if "step" in e else ""
            print(f"  - {where}{e['message']}")


def show_samples(run_path: Path) -> None:
    """Each probe prompt, then the base and the tuned answer in two columns."""
    try:
        data = json.loads((run_path / "samples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    tuned = data.get("tuned") or []
    print(f"\nbefore / after ({data.get('weights') or 'training still running'}):")
    for i, prompt in enumerate(data["prompts"]):
        base = (data.get("base") or [None] * len(data["prompts"]))[i]
        base = "(not recorded)" if base is None else base or "(empty answer)"
        after = (tuned[i] or "(empty answer)") if i < len(tuned) else "(not yet)"
        print(f"\n  prompt: {prompt}")
        left, right = textwrap.wrap(base, WIDTH) or [""], textwrap.wrap(after, WIDTH) or [""]
        print(f"  {'base':{WIDTH}}  |  tuned")
        for a, b in zip(left + [""] * (len(right) - len(left)), right + [""] * (len(left) - len(right)), strict=False):
            print(f"  {a:{WIDTH}}  |  {b}")


def show_evaluation(run: RunDir) -> None:
    """The latest `tuitune eval` (or end-of-run evaluation): base against tuned."""
    summary = evals.latest(evals.eval_dir(run))
    if summary is None:
        return
    print(f"\nlatest evaluation ({summary.get('created')}):")
    for line in evals.summary_lines(summary):
        print(f"  {line}")
