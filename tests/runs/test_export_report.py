"""One export-report text (tuitune.runs.export_report) for `tuitune export` and the TUI's
export screen: files, sizes, verification and its reasons, the Modelfile."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tuitune.cli.follow import report_export
from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.runs.export_report import read_report, report_lines, report_path
from tuitune.runs.store import create_run

REPORT = {
    "status": "failed",
    "files": [{"quant": "q8_0", "path": "/r/gguf/demo-q8_0.gguf", "bytes": 144810848, "tensor_types": {"q8_0": 211}},
              {"quant": "q4_k_m", "path": "/r/gguf/demo-q4_k_m.gguf", "bytes": 100 * 2**20,
               "note": "asked for q4_k_m, got mostly q5_0"}],
    "verification": {"reasons": ["1 of 3 greedy answers did not stop within 200 tokens"], "template_match": False,
                     "perplexity": {"f16": 5.12, "q8_0": 5.13}},
    "timings_s": {"merge": 21.06},
}


def test_the_report_in_lines():
    assert report_lines(REPORT) == [
        "verification FAILED",
        "  why: 1 of 3 greedy answers did not stop within 200 tokens",
        "files (in /r/gguf):",
        "  q8_0       138.1 MiB  perplexity 5.13  demo-q8_0.gguf",
        "           tensors: q8_0 ×211",
        "  q4_k_m     100.0 MiB  demo-q4_k_m.gguf",
        "           note: asked for q4_k_m, got mostly q5_0",
        "perplexity of the 16-bit reference on held-out rows: 5.12",
        "chat template renders the same in llama.cpp: NO",
        "took: merge 21.1 s",
    ]
    # Inside the run's folder (the TUI's narrow panel), paths are shown from it.
    assert report_lines(REPORT, base=Path("/r"))[2] == "files (in gguf):"


def test_tuitune_export_prints_what_the_export_screen_shows(capsys):
    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))
    args = argparse.Namespace(json=False)
    assert not report_export(run, args) and capsys.readouterr().out == ""  # no export yet: nothing vouched for
    report_path(run.path).parent.mkdir()
    report_path(run.path).write_text("{half a report")
    assert read_report(report_path(run.path)) is None and not report_export(run, args)
    report_path(run.path).write_text(json.dumps(REPORT))
    assert report_export(run, args)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"  {line}" for line in report_lines(REPORT)] + [
        f"export failed: report in {run.path / 'gguf' / 'report.json'}"]
    assert report_export(run, argparse.Namespace(json=True))  # with --json, stdout carries only events
    assert capsys.readouterr().out == ""
