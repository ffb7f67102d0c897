"""A GGUF export's report (``RUN/gguf/report.json``: the files with their sizes and tensor
types, the verification and its reasons, the Modelfile) in words, the same for ``tuitune
export`` and the TUI's export screen. UI-free and light."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def report_path(run_path: Path) -> Path:
    """Where the export worker writes its report in a run's folder."""
    return run_path / "gguf" / "report.json"


def read_report(path: Path | None) -> dict[str, Any] | None:
    """The report, or None when there is none (yet) or it cannot be read."""
    if path is None or not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def report_lines(report: dict[str, Any], base: Path | None = None) -> list[str]:
    """The verification report in a few lines: verdict, files, quality, stops, Modelfile.
    Paths inside ``base`` (the run's folder) are shown relative to it."""

    def short(path: str) -> str:
        try:
            return str(Path(path).relative_to(base)) if base is not None else path
        except ValueError:
            return path

    verification = report.get("verification") or {}
    lines = [f"verification {report.get('status', '?').upper()}"]
    lines += [f"  why: {reason}" for reason in verification.get("reasons", [])]
    ppl = verification.get("perplexity") or {}
    files = report.get("files", [])
    folders = {short(str(Path(f["path"]).parent)) for f in files if f.get("path")}
    lines.append(f"files (in {folders.pop()}):" if len(folders) == 1 else "files:")
    for f in files:
        types = ", ".join(f"{t} ×{n}" for t, n in (f.get("tensor_types") or {}).items())
        extra = f"  perplexity {ppl[f['quant']]:.2f}" if f.get("quant") in ppl else ""
        name = Path(f["path"]).name if f.get("path") and not folders else short(f.get("path", ""))
        lines.append(f"  {f.get('quant'):8} {f.get('bytes', 0) / 2**20:7.1f} MiB{extra}  {name}")
        if types:
            lines.append(f"           tensors: {types}")
        if f.get("note"):
            lines.append(f"           note: {f['note']}")
    if "f16" in ppl:
        lines.append(f"perplexity of the 16-bit reference on held-out rows: {ppl['f16']:.2f}")
    if verification.get("agreement") is not None:
        lines.append(f"16-bit GGUF agrees with the merged model on {verification['agreement']:.1%} of next tokens")
    if verification.get("template_match") is not None:
        lines.append(f"chat template renders the same in llama.cpp: {'yes' if verification['template_match'] else 'NO'}")
    stops = verification.get("stops") or []
    if stops:
        ended = sum(1 for s in stops if s.get("finish_reason") == "stop")
        lines.append(f"greedy test answers that ended on the end token: {ended} of {len(stops)}")
    timings = report.get("timings_s") or {}
    if timings:
        lines.append("took: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    modelfile = report.get("modelfile")
    if modelfile:
        lines.append(f"Ollama: ollama create NAME -f {modelfile['path']}")  # whole: to copy and paste
        if modelfile.get("note"):
            lines.append(f"  note: {modelfile['note']}")
    return lines
