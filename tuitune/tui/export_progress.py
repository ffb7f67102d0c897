"""The export screen's content, UI-free: the stages of the latest export as its events arrive,
and the verification report (``gguf/report.json``) as lines a person reads.

Fed with every event of the run from the start: each ``status: exporting`` event begins a new
export, so the same code shows an export in progress, one started elsewhere (``tuitune export``)
and the last finished one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUANT_HELP = {
    "f16": "16-bit, no quantization loss; biggest file",
    "bf16": "bfloat16, as trained on most GPUs; biggest file",
    "q8_0": "8-bit, practically lossless, about half of f16",
    "q6_k": "6-bit k-quant, very close to q8_0",
    "q5_k_m": "5-bit k-quant, good quality for its size",
    "q5_0": "5-bit legacy quant",
    "q4_k_m": "4-bit k-quant, the usual choice for chat",
    "q4_0": "4-bit legacy quant, smallest, fastest on the CPU",
}


@dataclass
class ExportProgress:
    """The latest export seen in a run's events."""

    quants: list[str] = field(default_factory=list)
    stages: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    """stage → (``waiting``, ``started`` or ``done``, seconds when done), in pipeline order."""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: str | None = None
    """None while it runs (or before any export); ``passed`` or ``failed`` when finished."""
    report: Path | None = None
    seen: bool = False
    default_report: Path | None = None
    """Where the report is when an event does not say (the run's gguf/report.json)."""

    def feed(self, events: list[dict[str, Any]]) -> bool:
        """Take new events; True when something export-related changed."""
        changed = False
        for e in events:
            kind = e.get("type")
            if kind == "status" and e.get("status") == "exporting":
                self._begin([str(q) for q in e.get("quants") or []])
            elif not self.seen:
                continue
            elif kind == "export":
                self.stages[str(e.get("stage"))] = (str(e.get("state")), e.get("seconds"))
            elif kind == "warning":
                self.warnings.append(str(e.get("message")))
            elif kind == "error":
                self.errors.append(str(e.get("message")))
            elif kind == "finished" and e.get("stage") == "export":
                self.status = str(e.get("status"))
                self.report = Path(e["report"]) if e.get("report") else self.default_report
            elif kind == "finished" and "export" in e:  # the training worker exported after training
                self.status = str(e["export"])
                self.report = self.default_report
            else:
                continue
            changed = True
        return changed

    def _begin(self, quants: list[str]) -> None:
        self.quants, self.seen, self.status, self.report = quants, True, None, None
        self.warnings, self.errors = [], []
        self.stages = {s: ("waiting", None) for s in ["merge", "convert", *[f"quantize {q}" for q in quants], "verify"]}

    @property
    def running(self) -> bool:
        return self.seen and self.status is None

    def stage_lines(self) -> list[tuple[str, str]]:
        """(mark, text) per stage: ✓ done, ▶ running, · waiting."""
        lines = []
        for stage, (state, seconds) in self.stages.items():
            if state == "done":
                lines.append(("✓", f"{stage}  {seconds or 0:.1f} s"))
            elif state == "started":
                lines.append(("▶", f"{stage} …"))
            else:
                lines.append(("·", stage))
        return lines


def read_report(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
