"""Evaluations of a run (or of a GGUF file or a model folder), as both fronts read them.

``tuitune eval`` runs the worker ``python -m tuitune.evaluation``, which writes

    <run>/eval/<timestamp>.json         the summary: {"rows", "base", "tuned", "general", "per_row", ...}
    <run>/eval/<timestamp>.rows.jsonl   each row's prompt, reference and both answers with their metrics

(``$TUITUNE_HOME/evals/<name>/`` for a target that is not a run). This module reads them, turns
an eval file into rows to score, words the table and the forgetting warning, and starts the
worker. Light: no torch, no UI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuitune.data.loader import import_file
from tuitune.data.schema import DataError
from tuitune.paths import safe_name, tuitune_home
from tuitune.runs.store import RunDir

METRICS = {  # name: (what it says, higher is better)
    "contains": ("the reference appears in the answer", True),
    "exact": ("the answer is the reference", True),
    "rouge_l": ("ROUGE-L F1 of the answer against the reference", True),
    "ref_ppl": ("perplexity of the reference given the prompt", False),
    "choice_acc": ("multiple choice: the right choice is the likeliest", True),
    "text_ppl": ("perplexity of raw text", False),
}
GENERAL_PARTS = {
    "score": ("the general score: mean of the three accuracies below", True),
    "knowledge": ("general-knowledge multiple choice", True),
    "arithmetic": ("arithmetic, answered in words", True),
    "instruct": ("short instructions with a checkable answer", True),
    "text_ppl": ("perplexity of general text", False),
}
FORGETTING_MARGIN = 0.05
"""Default fall of the general score (base → tuned, on a 0–1 scale) that the coach warns about."""
GENERAL_DATA = "bundled:general"
"""The general set's training half, to mix back in (``[data] mix``)."""


def eval_dir(run: RunDir) -> Path:
    return run.path / "eval"


def target_dir(label: str) -> Path:
    """Where evaluations of a GGUF file or a model folder go (they have no run directory)."""
    return tuitune_home() / "evals" / safe_name(label, "model")


def results(folder: Path) -> list[Path]:
    """The summaries in ``folder``, oldest first (timestamps sort as text)."""
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".tmp")) if folder.is_dir() else []


def latest(folder: Path) -> dict[str, Any] | None:
    for path in reversed(results(folder)):
        data = read(path)
        if data is not None:
            return data
    return None


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def per_row(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an evaluation, each with its prompt, reference and both sides' answers."""
    path = summary.get("per_row")
    if not path:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


# ----- rows to score -------------------------------------------------------------------------

def eval_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of an eval file, read by the data importer (every format it reads; its errors
    name the file and the line): ``{"where", "kind", ...}`` with kind ``answer`` (``prompt``,
    ``reference``), ``choice`` (``prompt``, ``choices``, ``answer``) or ``text`` (``text``)."""
    data = import_file(path)
    rows = []
    for e in data.examples:
        d = e.data
        if e.kind == "sft":
            last = max(i for i, m in enumerate(d["messages"]) if m["role"] == "assistant")
            if last == 0:
                raise DataError(f"{e.where}: the conversation starts with the assistant's answer; "
                                "an eval row needs a prompt before the reference answer")
            rows.append({"where": e.where, "kind": "answer", "prompt": d["messages"][:last],
                         "reference": d["messages"][last]["content"]})
        elif e.kind == "preference":
            rows.append({"where": e.where, "kind": "answer", "prompt": d["prompt"], "reference": d["chosen"][-1]["content"]})
        elif e.kind == "choice":
            rows.append({"where": e.where, "kind": "choice", "prompt": d["prompt"], "choices": d["choices"],
                         "answer": d["answer"]})
        elif e.kind == "text":
            rows.append({"where": e.where, "kind": "text", "text": d["text"]})
        else:
            raise DataError(f"{data.path}: holds unpaired preferences (a `label` per answer); an eval file needs a "
                            "prompt and its reference answer, multiple-choice rows (`choices`, `answer`) or raw text")
    return rows


# ----- words both fronts show ----------------------------------------------------------------

def fmt(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(summary: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, base, tuned, change) rows: the task's metrics, then the general set's parts."""
    out = []
    base, tuned = summary.get("base") or {}, summary.get("tuned") or {}
    others = [k for k in {**base, **tuned} if k not in METRICS]  # lm-eval's "task/metric"
    for name in [*METRICS, *others]:
        if name in base or name in tuned:
            out.append((name, fmt(base.get(name)), fmt(tuned.get(name)), _change(name, base.get(name), tuned.get(name))))
    general = summary.get("general") or {}
    gb, gt = general.get("base") or {}, general.get("tuned") or {}
    for name in GENERAL_PARTS:
        if name in gb or name in gt:
            out.append((f"general {name}", fmt(gb.get(name)), fmt(gt.get(name)), _change(name, gb.get(name), gt.get(name))))
    return out


def _change(name: str, base: Any, tuned: Any) -> str:
    if not isinstance(base, (int, float)) or not isinstance(tuned, (int, float)):
        return ""
    known = METRICS.get(name) or GENERAL_PARTS.get(name)
    higher = known[1] if known else not any(word in name for word in ("perplexity", "ppl", "loss"))
    diff = tuned - base
    better = diff > 0 if higher else diff < 0
    return f"{diff:+.3f} {'better' if better else 'worse' if diff else 'same'}"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The table as text, with the rows, the models, the time and any forgetting warning."""
    models = summary.get("models") or {}
    lines = [f"evaluated {summary.get('rows', 0)} rows of {summary.get('data') or 'no task data'}"
             f"{' + the general set' if summary.get('general') else ''} in {summary.get('wall_s', 0):.0f} s",
             f"  base:  {models.get('base') or '—'}", f"  tuned: {models.get('tuned') or '—'}"]
    rows = table(summary)
    if rows:
        width = max(len(r[0]) for r in rows)
        lines.append(f"  {'metric':{width}}  {'base':>8}  {'tuned':>8}")
        lines += [f"  {m:{width}}  {b:>8}  {t:>8}  {c}".rstrip() for m, b, t, c in rows]
    for note in summary.get("notes") or []:
        lines.append(f"  note: {note}")
    warning = forgetting(summary)
    if warning:
        lines.append(f"  warning: {warning}")
    if summary.get("per_row"):
        lines.append(f"  per row: {summary['per_row']}")
    return lines


def forgetting(summary: dict[str, Any], margin: float | None = None) -> str | None:
    """The coach's forgetting warning when the general score fell by more than ``margin``."""
    general = summary.get("general") or {}
    base, tuned = (general.get("base") or {}).get("score"), (general.get("tuned") or {}).get("score")
    margin = summary.get("margin", FORGETTING_MARGIN) if margin is None else margin
    if not isinstance(base, (int, float)) or not isinstance(tuned, (int, float)) or base - tuned <= margin:
        return None
    return (f"the general score fell from {base:.3f} to {tuned:.3f} (more than {margin:g}): the model is forgetting "
            "what it knew. Train fewer epochs or lower train.learning_rate, use a smaller lora.r, or mix general "
            f'data back in: [data] mix = [{{ path = "<your data>", weight = 0.9 }}, {{ path = "{GENERAL_DATA}", '
            'weight = 0.1 }] (docs/eval.md)')


# ----- the worker ------------------------------------------------------------------------------

def eval_command(target: str, data: str | None = None, *, base_only: bool = False, general: bool = True,
                 lm_eval: str | None = None, extra: list[str] | None = None, with_base: bool = True) -> list[str]:
    command = [sys.executable, "-m", "tuitune.evaluation", target]
    if data:
        command += ["--data", data]
    if base_only:
        command.append("--base")
    elif not with_base:
        command.append("--no-base")
    if not general:
        command.append("--no-general")
    if lm_eval:
        command += ["--lm-eval", lm_eval]
    return command + (extra or [])


def start_eval(command: list[str], log: Path | None = None) -> subprocess.Popen[str]:
    """The worker, its messages (one JSON object a line) on its stdout."""
    stderr = open(log, "a", encoding="utf-8") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env=dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1"))
    finally:
        if log is not None:
            stderr.close()  # type: ignore[union-attr]


def messages(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The worker's messages until it exits: ``{"progress": done, "of": n, "what": ...}``,
    ``{"note": ...}``, then ``{"result": PATH}`` or ``{"error": ...}``."""
    assert process.stdout is not None
    for line in process.stdout:
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue
    process.wait()
