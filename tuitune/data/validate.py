"""Row-level validation with an ``on_error`` policy: ``fail`` stops with every bad row listed
(up to a few), ``skip`` sets them aside with their reasons for rejected.jsonl. Never silent."""

from __future__ import annotations

from typing import Any, Literal

from tuitune.data.formats import Detection, convert, rename_columns
from tuitune.data.schema import DataError, Example, Rejected, Row, RowError

OnError = Literal["fail", "skip"]
SHOWN = 5  # bad rows quoted in a `fail` message; the rest are counted


def validate_rows(
    rows: list[Row],
    detection: Detection,
    on_error: OnError = "fail",
    columns: dict[str, str] | None = None,
    system_prompt: str | None = None,
) -> tuple[list[Example], list[Rejected]]:
    """Normalize every row; bad ones are rejected (``skip``) or reported all at once (``fail``)."""
    examples: list[Example] = []
    rejected: list[Rejected] = []
    fmt = detection.format
    for row in rows:
        if row.problem:  # unreadable (bad JSON, a ragged CSV row): not a matter of format
            rejected.append(Rejected(row.where, row.problem, "validate", row.data))
            continue
        try:
            data = convert(rename_columns(row.data, columns or {}), fmt)
        except RowError as e:
            rejected.append(Rejected(row.where, f"not a valid {fmt} row: {e}", "validate", row.data))
            continue
        example = Example(row.where, detection.kind, data)
        if system_prompt:
            add_system_prompt(example, system_prompt)
        examples.append(example)
    if rejected and on_error == "fail":
        raise DataError(_fail_message(rejected, len(rows)))
    return examples, rejected


def add_system_prompt(example: Example, system_prompt: str) -> None:
    """The preset's system prompt goes before every conversation (or prompt) that has none."""
    key = {"sft": "messages", "unpaired": "messages", "preference": "prompt", "choice": "prompt"}.get(example.kind)
    if key and example.data[key][0]["role"] != "system":
        example.data[key] = [{"role": "system", "content": system_prompt}, *example.data[key]]


def _fail_message(rejected: list[Rejected], total: int) -> str:
    lines = [f"{r.where}: {r.reason}" for r in rejected[:SHOWN]]
    if len(rejected) == 1:
        return f"{lines[0]} (fix the row, or set data.on_error = 'skip' to leave bad rows out)"
    more = f"\n  … and {len(rejected) - SHOWN} more" if len(rejected) > SHOWN else ""
    return (
        f"{len(rejected)} of {total} rows are not usable:\n  " + "\n  ".join(lines) + more
        + "\nFix them, or set data.on_error = 'skip' to leave them out (they are listed in rejected.jsonl)."
    )


def summarize_rejected(rejected: list[Rejected]) -> dict[str, Any]:
    """Counts per step and the first few reasons, for reports."""
    steps: dict[str, int] = {}
    for r in rejected:
        steps[r.step] = steps.get(r.step, 0) + 1
    return {"by_step": steps, "examples": [f"{r.where}: {r.reason}" for r in rejected[:SHOWN]]}
