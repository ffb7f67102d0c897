"""The export screen's progress, UI-free: the stages of the latest export as its events
arrive. The verification report's text is :mod:`tuitune.runs.export_report` (``tuitune
export`` prints the same).

Fed with every event of the run from the start: each ``status: exporting`` event begins a new
export, so the same code shows an export in progress, one started elsewhere (``tuitune export``)
and the last finished one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ExportProgress:
    """The latest export seen in a run's events."""

    quants: list[str] = field(default_factory=list)
    stages: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    """stage → (``waiting``, ``started`` or ``done``, seconds when done), in pipeline order."""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    check: tuple[int, int, str] | None = None
    """The verification check running: its number, the count, its name."""
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
            elif kind == "verify":
                self.check = (int(e.get("index") or 0), int(e.get("total") or 0), str(e.get("check")))
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
        self.warnings, self.errors, self.check = [], [], None
        self.stages = {s: ("waiting", None) for s in ["merge", "convert", *[f"quantize {q}" for q in quants], "verify"]}

    def summary(self) -> str:
        """Where a running export is, in a few words (the run view shows it where the ETA was)."""
        stages = list(self.stages.items())
        for n, (stage, (state, _)) in enumerate(stages, start=1):
            if state == "started":
                if stage == "verify" and self.check:
                    return f"{n}/{len(stages)} verify {self.check[0]}/{self.check[1]}"
                return f"{n}/{len(stages)} {stage}"
        finished = sum(1 for state, _ in self.stages.values() if state in ("done", "reused"))
        return f"{finished}/{len(stages)}"

    @property
    def running(self) -> bool:
        return self.seen and self.status is None

    def stage_lines(self) -> list[tuple[str, str]]:
        """(mark, text) per stage: ✓ done (or kept from the export before), ▶ running, · waiting."""
        lines = []
        for stage, (state, seconds) in self.stages.items():
            if state == "done":
                lines.append(("✓", f"{stage}  {seconds or 0:.1f} s"))
            elif state == "reused":
                lines.append(("✓", f"{stage}  kept from the export before"))
            elif state == "started" and stage == "verify" and self.check:
                index, total, check = self.check
                lines.append(("▶", f"verify {index}/{total}: {check} …"))
            elif state == "started":
                lines.append(("▶", f"{stage} …"))
            else:
                lines.append(("·", stage))
        return lines
