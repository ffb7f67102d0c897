"""One evaluation, top to bottom: what TARGET names (the chat's targets: a run's verified GGUF
or its adapter, a GGUF file, a model folder) → the rows → each side scored in turn (base first,
one model in memory at a time) → the summary and the per-row answers in the eval folder.

With a ``budget`` (the end of a training run), the evaluation stops early and writes nothing
when its projected time exceeds it: the projection is measured on the first side, not guessed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuitune.chat.backend import ChatError
from tuitune.chat.targets import Target, base_of, resolve
from tuitune.errors import TuituneError
from tuitune.evaluation import metrics
from tuitune.evaluation.scorers import LlamaScorer, Scorer, TorchScorer
from tuitune.paths import atomic_write_text
from tuitune.runs import evals
from tuitune.runs.store import RunDir, RunStoreError, find_run

VERSION = 1


class OverBudget(TuituneError):
    """The evaluation would take longer than it was allowed."""


@dataclass
class Plan:
    target: str
    sides: dict[str, Target]  # "base" / "tuned" → what to open
    rows: list[dict[str, Any]]
    data: str | None
    general: list[dict[str, Any]]
    out: Path
    run: RunDir | None = None
    margin: float = evals.FORGETTING_MARGIN
    notes: list[str] = field(default_factory=list)


def plan(target: str, data: str | None = None, base_only: bool = False, general: bool = True,
         general_limit: int | None = None, with_base: bool = True) -> Plan:
    opened = _target(target, base_only)
    run = opened.run
    sides: dict[str, Target] = {}
    if run is not None:
        if with_base or base_only:
            sides["base"] = base_of(opened)
        if not base_only:
            sides["tuned"] = opened
    else:
        sides["base" if base_only else "tuned"] = opened
    notes = []
    rows: list[dict[str, Any]] = []
    if data is not None:
        rows = evals.eval_rows(data)
    elif run is not None:
        val = run.data_dir / "val.jsonl"
        if val.is_file() and val.stat().st_size:
            rows, data = evals.eval_rows(val), str(val)
        else:
            notes.append("the run has no validation rows; give --data FILE to score the task")
    margin = evals.FORGETTING_MARGIN
    if run is not None:
        margin = run.preset().eval.forgetting_margin
    out = evals.eval_dir(run) if run is not None else evals.target_dir(opened.label)
    items = metrics.general_items(general_limit) if general else []
    return Plan(target, sides, rows, data, items, out, run, margin, notes)


def _target(ref: str, base_only: bool) -> Target:
    try:
        return resolve(ref)
    except ChatError:
        if not base_only:
            raise
    try:  # the base of a run that has no result yet
        run = find_run(ref.removeprefix("run:"), to_read=True)
    except RunStoreError as e:
        raise ChatError(f"{e}; TARGET may also be a .gguf file or a model folder") from None
    return Target(run.id, worker=run.path, run=run)


def open_side(target: Target) -> Scorer:
    if target.gguf is not None:
        return LlamaScorer(target.gguf)
    assert target.worker is not None
    return TorchScorer(target.worker, base=target.base)


def run(p: Plan, tell: Callable[[dict[str, Any]], None], budget: float | None = None) -> Path:
    """Score every side; returns the summary's path."""
    start = time.monotonic()
    units = len(p.rows) + len(p.general)
    total = units * len(p.sides)
    per_row: list[dict[str, Any]] = [_row_record(i, r) for i, r in enumerate(p.rows)]
    general_rows: list[dict[str, Any]] = [{"i": i, **item} for i, item in enumerate(p.general)]
    summary: dict[str, Any] = {"version": VERSION, "target": p.target, "data": p.data, "rows": len(p.rows),
                               "base": None, "tuned": None, "general": None, "models": {}, "margin": p.margin,
                               "notes": list(p.notes)}
    done = 0
    for side, target in p.sides.items():
        scorer = open_side(target)
        summary["models"][side] = scorer.name
        try:
            scored = []
            for i, row in enumerate(p.rows):
                result = metrics.score_row(scorer, row)
                scored.append(result)
                per_row[i][side] = metrics.public(result)
                done += 1
                _check(start, done, total, budget, tell, f"{side}: row {i + 1} of {len(p.rows)}")
            general = []
            for i, item in enumerate(p.general):
                result = metrics.score_general_item(scorer, item)
                general.append(result)
                general_rows[i][side] = {k: v for k, v in result.items() if k != "part"}
                done += 1
                _check(start, done, total, budget, tell, f"{side}: general item {i + 1} of {len(p.general)}")
        finally:
            scorer.close()
        if p.rows:
            summary[side] = metrics.overall(scored)
        if p.general:
            summary["general"] = (summary["general"] or {"items": len(p.general)}) | {side: metrics.general_summary(general)}
    return _write(p, summary, per_row, general_rows, time.monotonic() - start)


def _check(start: float, done: int, total: int, budget: float | None, tell: Callable[[dict[str, Any]], None],
           what: str) -> None:
    tell({"progress": done, "of": total, "what": what})
    if budget is None or done < max(5, total // 10):
        return
    projected = (time.monotonic() - start) / done * total
    if projected > budget:
        raise OverBudget(f"the evaluation would take about {projected:.0f} s here, more than its {budget:.0f} s budget")


def _row_record(i: int, row: dict[str, Any]) -> dict[str, Any]:
    return {"i": i, **{k: v for k, v in row.items()}}


def _write(p: Plan, summary: dict[str, Any], per_row: list[dict[str, Any]], general_rows: list[dict[str, Any]],
           wall: float) -> Path:
    p.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while (p.out / f"{stamp}.json").exists():
        n += 1
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{n}"
    rows_file, general_file = p.out / f"{stamp}.rows.jsonl", p.out / f"{stamp}.general.jsonl"
    atomic_write_text(rows_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in per_row))
    if general_rows:
        atomic_write_text(general_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in general_rows))
    summary |= {"per_row": str(rows_file), "general_per_item": str(general_file) if general_rows else None,
                "created": stamp, "wall_s": round(wall, 1)}
    path = p.out / f"{stamp}.json"
    atomic_write_text(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return path
