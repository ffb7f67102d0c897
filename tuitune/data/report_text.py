"""The data report in words, the same for ``tuitune data inspect | clean`` and the new-run
wizard's data panel: what was read and how its format was recognized, what cleaning left out
and why, the split, and the length statistics with their histogram. UI-free.

A report is the dict :func:`tuitune.data.pipeline.inspect` returns (``report.json``); the
first part (:func:`summary_rows`) needs only the import, which :func:`import_summary` gives
without cleaning or a tokenizer. Text comes as rows ``(label, text)``, a row with an empty label
continuing the one above: the fronts lay them out (the CLI in a column, the TUI inline).
"""

from __future__ import annotations

from typing import Any

from tuitune.data.loader import KIND_NAMES, Imported
from tuitune.data.stats import histogram_lines
from tuitune.data.validate import summarize_rejected

Row = tuple[str, str]


def import_summary(data: Imported, source: str) -> dict[str, Any]:
    """The report's first part for a file only read and validated (``pipeline.check``): the
    same keys as in a full report, the rows set aside being the invalid ones."""
    return {"source": source, "container": data.container, "format": data.format, "kind": data.detection.kind,
            "evidence": data.detection.evidence, "rows_read": data.rows_read, "invalid": len(data.rejected),
            "rejected": len(data.rejected), "rejected_summary": summarize_rejected(data.rejected)}


def summary_rows(report: dict[str, Any]) -> list[Row]:
    """The file, its format and the evidence for it, and how many rows are not valid."""
    usable = report["rows_read"] - report["invalid"]
    rows = [("file", f"{report['source']} ({report['container']}, {report['rows_read']} rows read, {usable} usable)"),
            ("format", f"{report['format']} — {KIND_NAMES[report['kind']]}")]
    rows += [("", line) for line in report["evidence"]]
    rows.append(("invalid", f"{report['invalid']} rows"))
    return rows


def cleaning_rows(report: dict[str, Any]) -> list[Row]:
    """What cleaning removed, the split, and the length statistics (tokens with a tokenizer)."""
    split, stats = report["split"], report.get("stats", {})
    rows = [("cleaning", " · ".join(f"{k} {v}" for k, v in report["steps"].items()) or "off")]
    extra = []
    if "seed" in split:
        extra.append(f"seed {split['seed']}")
    if split.get("leaked_moved_to_train"):
        extra.append(f"{split['leaked_moved_to_train']} leaked rows moved to train")
    rows.append(("split", f"{split['train']} train / {split['val']} validation"
                 + (f" ({', '.join(extra)})" if extra else "")))
    rows += shape_rows(report)
    chars = stats.get("chars") or {}
    if chars.get("count"):
        rows.append(("chars", _percentiles(chars)))
    tokens = stats.get("tokens") or {}
    if tokens.get("count"):
        rows.append(("tokens per row", _percentiles(tokens)))
        rows += [("", line) for line in histogram_lines(tokens.get("histogram", {}), tokens.get("max_seq_len"))]
        if tokens.get("max_seq_len"):
            rows.append(("", f"{tokens.get('truncated_fraction', 0):.1%} of rows are cut at max_seq_len"))
        if tokens.get("answer_cut_rows"):
            rows.append(("warning", f"in {tokens['answer_cut_rows']} rows max_seq_len cuts before the answer starts: "
                                    "they teach nothing. Raise max_seq_len, or drop them with data.max_tokens "
                                    "(--max-tokens)"))
    return rows


def shape_rows(report: dict[str, Any]) -> list[Row]:
    """What the rows say about the task (tuitune.data.shape), in the guidance's words."""
    shape, split = report.get("shape") or {}, report["split"]
    rows = []
    if shape.get("repeat_factor"):
        n = report["steps"].get("deliberate_repeat", 0)
        rows.append(("repeats", f"deliberate_repeat x{shape['repeat_factor']}: every row is repeated about "
                                f"{shape['repeat_factor']} times on purpose; the {n} repeats are dropped and the "
                                f"epochs multiplied by {shape['repeat_factor']} instead"))
    if shape.get("knowledge_like"):
        rows.append(("task", f"knowledge-like: {shape['facts']} answers, {shape['shared_answer_share']:.0%} of rows "
                             "share theirs with another question" + (" (split by answer)" if split.get("grouped_by_answer")
                                                                     else "")))
    if split.get("val_fraction_reason") and split["val_fraction_reason"] != "set in the preset":
        rows.append(("", f"validation: {split['val_fraction_reason']}"))
    return rows


def set_aside_rows(report: dict[str, Any]) -> list[Row]:
    """The rows left out, counted by reason, and the first few of them with where they are."""
    if not report.get("rejected"):
        return []
    summary = report.get("rejected_summary") or {}
    by_step = " · ".join(f"{step} {n}" for step, n in (summary.get("by_step") or {}).items())
    rows = [("set aside", f"{report['rejected']} rows" + (f" ({by_step})" if by_step else ""))]
    return rows + [("", line) for line in summary.get("examples") or []]


def report_rows(report: dict[str, Any]) -> list[Row]:
    """The whole report: what was read, what cleaning did, and what was left out."""
    return summary_rows(report) + cleaning_rows(report) + set_aside_rows(report)


def _percentiles(stats: dict[str, Any]) -> str:
    return f"p50 {stats['p50']} · p90 {stats['p90']} · p99 {stats['p99']} · max {stats['max']}"
