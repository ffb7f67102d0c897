"""The run's numbers at a glance: status, step/total, epoch, loss, lr, tokens/s, ETA."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from tuitune.runs.event_text import MISSING, dpo_numbers, step_numbers
from tuitune.tui.widgets.runs_table import STATUS_STYLE


class RunStats(Static):
    """One line of labelled numbers; ``values`` holds what is shown, for tests and copy."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = "…"
        self.phase = ""
        self.values: dict[str, str] = step_numbers({})
        self.updates = 0
        """Steps shown so far (a flood of steps is shown once per poll)."""

    def on_mount(self) -> None:
        self._render_line()

    def show_step(self, event: dict[str, Any]) -> None:
        self.updates += 1
        self.values = {**step_numbers(event), **dpo_numbers(event),
                       **{k: v for k, v in self.values.items() if k == "val loss"}}
        self._render_line()

    def show_progress(self, step: int, total: int) -> None:
        """Where training starts (before its first logged step)."""
        self.values["step"] = f"{step}/{total}"
        self._render_line()

    def show_eval(self, loss: float) -> None:
        self.values["val loss"] = f"{loss:.4f}"
        self._render_line()

    def show_status(self, status: str, phase: str = "") -> None:
        self.status, self.phase = status, phase
        self._render_line()

    def _render_line(self) -> None:
        text = Text()
        text.append(self.status, style=STATUS_STYLE.get(self.status, "bold"))
        if self.phase and self.phase != self.status:
            text.append(f" ({self.phase})", style="dim")
        for label, value in self.values.items():
            if label == "ETA" and self.status not in ("running", "stopping"):
                value = MISSING  # an ETA is only meaningful while a worker trains
            text.append(f"   {label} ", style="dim")
            text.append(value, style="bold")
        self.update(text)
