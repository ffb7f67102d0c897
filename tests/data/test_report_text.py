"""One data-report text (tuitune.data.report_text) for `tuitune data inspect | clean` and the
wizard's data panel: the same rows, laid out in a column or inline."""

from __future__ import annotations

from types import SimpleNamespace

from tuitune.cli.data import main
from tuitune.data.pipeline import inspect
from tuitune.data.report_text import cleaning_rows, report_rows, set_aside_rows, summary_rows
from tuitune.tui.wizard import data_summary, report_lines


def section(path, **kw):
    return SimpleNamespace(path=str(path), format="auto", on_error="skip", val_fraction=0.05, dedup_near=False, **kw)


def test_rows_say_what_was_read_cleaned_split_and_set_aside(chat):
    report, _, _, _ = inspect(section(chat), seed=42)
    rows = report_rows(report)
    assert rows[:2] == [("file", f"{chat} (jsonl, 23 rows read, 22 usable)"),
                        ("format", "messages — conversations (SFT)")]
    assert ("", "`messages` of `role` / `content` turns in 22 of the first 22 rows → messages") in rows
    assert ("invalid", "1 rows") in rows
    assert ("cleaning", "whitespace_normalized 0 · empty_system_turns_removed 0 · empty 0 · degenerate_pair 0 · "
                        "exact_duplicate 2") in rows
    assert ("split", "19 train / 1 validation (seed 42)") in rows
    aside = set_aside_rows(report)
    assert aside[:2] == [("set aside", "3 rows (validate 1 · exact_duplicate 2)"),
                         ("", f"{chat}:23: invalid JSON (Expecting property name enclosed in double quotes at column 2)")]
    assert aside[2:] == [("", f"{chat}:21: an exact duplicate of line 1"), ("", f"{chat}:22: an exact duplicate of line 2")]
    assert rows == summary_rows(report) + cleaning_rows(report) + aside


def test_the_cli_and_the_panel_say_the_same(chat, capsys):
    assert main(["data", "inspect", str(chat), "--no-near-dedup", "--val-fraction", "0.05"]) == 0
    printed = capsys.readouterr().out.splitlines()
    report, _, _, _ = inspect(section(chat), seed=42)
    rows = report_rows(report)
    assert printed == [f"{label + ':' if label else '':10} {text}" for label, text in rows]
    panel = report_lines(report)
    for label, text in cleaning_rows(report) + set_aside_rows(report):
        assert (f"{label}: {text}" if label else f"  {text}") in panel
    preset = SimpleNamespace(data=section(chat, columns=None, system_prompt=None), train=SimpleNamespace(stage="sft"))
    info = data_summary(preset)
    assert info[0] == f"file: {chat} (jsonl, 23 rows read, 22 usable)"
    assert "format: messages — conversations (SFT)" in info and "invalid: 1 rows" in info
    # the invalid row where it is and why, as the CLI quotes it (was the dataclass's repr)
    assert "set aside: 1 rows (validate 1)" in info and any(line.startswith(f"  {chat}:23: invalid JSON") for line in info)


def test_token_rows_with_the_histogram_and_the_answer_cut_warning():
    report = {"steps": {}, "split": {"train": 9, "val": 1},
              "stats": {"tokens": {"count": 10, "p50": 50, "p90": 90, "p99": 120, "max": 300, "max_seq_len": 256,
                                   "truncated_fraction": 0.1, "answer_cut_rows": 2,
                                   "histogram": {"width": 100, "counts": [6, 3, 0, 1]}}}}
    rows = cleaning_rows(report)
    assert rows[0] == ("cleaning", "off") and rows[1] == ("split", "9 train / 1 validation")
    assert rows[2] == ("tokens per row", "p50 50 · p90 90 · p99 120 · max 300")
    assert rows[3][1].startswith("  0–99  ") and rows[-3][1].endswith("1 (cut)")
    assert rows[-2] == ("", "10.0% of rows are cut at max_seq_len")
    assert rows[-1][0] == "warning" and rows[-1][1].startswith("in 2 rows max_seq_len cuts before the answer starts")
    assert set_aside_rows(report) == []
