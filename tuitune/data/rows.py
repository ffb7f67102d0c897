"""Every row of a dataset as a person browses it: the rows kept for training and validation and
the rows left out with their reasons, each as readable text, and a search over them. The TUI's
row browser shows these for a run's ``data/`` folder and for the wizard's data before a run.
Light (no tokenizer here): the rows come from the files or from :func:`tuitune.data.pipeline.inspect`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "rejected")


@dataclass(frozen=True)
class Row:
    split: str
    """train, validation or rejected."""
    where: str
    """file:line of the source when known, else the row's place in its split (train #3)."""
    reason: str
    """Why a rejected row was left out (empty for the others)."""
    text: str
    """The row whole: each turn as ``role: text``, or its fields."""

    def matches(self, query: str) -> bool:
        query = query.strip().lower()
        return not query or any(query in part.lower() for part in (self.text, self.reason, self.where))


def folder_rows(folder: Path) -> list[Row]:
    """The rows of a cleaned data folder (a run's ``data/``, ``tuitune data clean --out``)."""
    rows: list[Row] = []
    for name, split in (("train.jsonl", "train"), ("val.jsonl", "validation")):
        for n, data in enumerate(_jsonl(folder / name), start=1):
            rows.append(Row(split, f"{split} #{n}", "", row_text(data)))
    for data in _jsonl(folder / "rejected.jsonl"):
        rows.append(Row("rejected", str(data.get("where", "?")), str(data.get("reason", "")), row_text(data.get("row"))))
    return rows


def inspected_rows(rejected: list[Any], train: list[Any], val: list[Any]) -> list[Row]:
    """The rows of an inspection (examples and rejections, as ``inspect`` returns them)."""
    rows = [Row("train", e.where, "", row_text(e.data)) for e in train]
    rows += [Row("validation", e.where, "", row_text(e.data)) for e in val]
    rows += [Row("rejected", r.where, r.reason, row_text(r.row)) for r in rejected]
    return rows


def search(rows: list[Row], query: str, split: str | None = None) -> list[Row]:
    return [r for r in rows if (split is None or r.split == split) and r.matches(query)]


def row_text(data: Any) -> str:
    """A row in words: a conversation turn by turn, a pair's prompt and both answers, else its fields."""
    if isinstance(data, dict):
        if isinstance(data.get("messages"), list):
            return _turns(data["messages"])
        if "chosen" in data or "rejected" in data:
            parts = [_part("prompt", data.get("prompt")), _part("chosen", data.get("chosen")),
                     _part("rejected", data.get("rejected"))]
            return "\n".join(p for p in parts if p)
        if isinstance(data.get("text"), str) and len(data) == 1:
            return data["text"]
        return "\n".join(f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in data.items())
    if data is None:
        return "(the row could not be read)"
    return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)


def _part(label: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return f"[{label}]\n{_turns(value)}"
    return f"[{label}] {value}"


def _turns(messages: list[Any]) -> str:
    return "\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" if isinstance(m, dict) else str(m)
                     for m in messages)


def _jsonl(path: Path) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a half-written last line: never fatal
    return [r for r in rows if isinstance(r, dict)]
