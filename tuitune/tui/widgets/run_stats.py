"""The run's numbers at a glance: status, step/total, ETA, tokens/s, loss, val loss, lr, epoch
(and, on several GPUs, the ranks and each one's memory).

Wrapped by whole figures (a label never parts from its value), ETA and tokens/s first after the
step, so that a narrow terminal (80 columns) shows them on the first line.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from tuitune.runs.event_text import MISSING, dpo_numbers, rank_numbers, step_numbers
from tuitune.tui.widgets.runs_table import STATUS_STYLE

FIRST = ("step", "ETA", "tokens/s", "loss", "val loss", "val ppl")
"""Shown in this order, before the others: what a person watching a run looks for."""
GAP = "   "


class RunStats(Widget):
    """Lines of labelled numbers; ``values`` holds what is shown, for tests and copy."""

    DEFAULT_CSS = "RunStats { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = "…"
        self.phase = ""
        self.values: dict[str, str] = step_numbers({})
        self.updates = 0
        """Steps shown so far (a flood of steps is shown once per poll)."""
        self.export: str | None = None
        """Where a running export is: shown in the ETA's place (an export has no steps to time)."""

    def show_step(self, event: dict[str, Any]) -> None:
        self.updates += 1
        self.values = {**step_numbers(event), **dpo_numbers(event), **rank_numbers(event),
                       **{k: v for k, v in self.values.items() if k in ("val loss", "val ppl")}}
        self.refresh(layout=True)

    def show_progress(self, step: int, total: int) -> None:
        """Where training starts (before its first logged step)."""
        self.values["step"] = f"{step}/{total}"
        self.refresh(layout=True)

    def show_eval(self, loss: float) -> None:
        self.values["val loss"] = f"{loss:.4f}"
        self.refresh(layout=True)

    def show_perplexity(self, perplexity: float) -> None:
        """Held-out perplexity (continued pretraining), beside the validation loss."""
        self.values["val ppl"] = f"{perplexity:.4g}"
        self.refresh(layout=True)

    def forget_eta(self) -> None:
        """A new attempt began (a resume): the old attempt's ETA says nothing about this one."""
        self.values["ETA"] = MISSING
        self.refresh(layout=True)

    def show_export(self, progress: str | None) -> None:
        self.export = progress
        self.refresh(layout=True)

    def show_status(self, status: str, phase: str = "") -> None:
        self.status, self.phase = status, phase
        self.refresh(layout=True)

    def _pieces(self) -> list[Text]:
        head = Text(self.status, style=STATUS_STYLE.get(self.status, "bold"))
        if self.phase and self.phase != self.status:
            head.append(f" ({self.phase})", style="dim")
        pieces = [head]
        order = [k for k in FIRST if k in self.values] + [k for k in self.values if k not in FIRST]
        for label in order:
            value = self.values[label]
            if label == "ETA" and self.export is not None:
                label, value = "export", self.export
            elif label == "ETA" and self.status not in ("running", "stopping"):
                value = MISSING  # an ETA is only meaningful while a worker trains
            pieces.append(Text.assemble((f"{label} ", "dim"), (value, "bold")))
        return pieces

    def _text(self, width: int) -> Text:
        text, used = Text(), 0
        for piece in self._pieces():
            if used and used + len(GAP) + len(piece) > width:
                text.append("\n")
                used = 0
            elif used:
                text.append(GAP)
                used += len(GAP)
            text.append_text(piece)
            used += len(piece)
        return text

    def render(self) -> Text:
        return self._text(self.content_size.width or 200)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._text(width).split("\n"))
