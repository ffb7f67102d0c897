"""Headless display of a run's events: a rich progress bar with the step's figures, and one
line per notable event, in the words the TUI uses (:mod:`tuitune.runs.event_text`); this
module adds only the bar and the colours. ``--json`` prints the raw events instead."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from tuitune.runs.event_text import MISSING, describe, dpo_numbers, level, step_numbers

STYLES = {"error": "bold red", "warning": "yellow", "quiet": "dim", "info": ""}
# The bar's own columns show the step; the figures after it are these, in this order.
BAR_FIGURES = ("loss", "margin", "reward acc", "lr", "tokens/s", "ETA")


def print_json_events(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    last = None
    for event in events:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
        last = event
    return last


class RunDisplay:
    """Renders events as they come; ``final_status`` is the last run status seen (or None)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=False, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task("starting", total=None, metrics="")
        self.final_status: str | None = None

    def __enter__(self) -> RunDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def note(self, text: str, style: str = "") -> None:
        # A Text, not markup: messages hold brackets ("[train]", "[/b]") that must show as written.
        self.progress.console.print(Text(text, style=style))

    def handle(self, event: dict[str, Any]) -> None:
        text = describe(event)
        if text is not None:
            self.note(text, STYLES[level(event)])
        self._bar(event)

    def _bar(self, e: dict[str, Any]) -> None:
        """What the event changes in the progress bar: the phase, the step, the figures."""
        kind, status = e.get("type"), e.get("status")
        if kind == "status" and status == "loading_model":
            self.progress.update(self.task, description="loading model")
        elif kind == "status" and status == "training":
            self.progress.update(self.task, description="training", total=e.get("total_steps"),
                                 completed=e.get("step", 0))
        elif kind == "status" and status == "stopping":
            self.progress.update(self.task, description="stopping")
        elif kind == "export" and e.get("state") == "started":
            self.progress.update(self.task, description=f"export: {e.get('stage')}")
        elif kind == "verify":
            self.progress.update(self.task, description="export: verify", total=e.get("total"),
                                 completed=max(0, int(e.get("index") or 1) - 1), metrics=str(e.get("check")))
        elif kind == "step":
            numbers = {**step_numbers(e), **dpo_numbers(e)}
            figures = "  ".join(f"{label} {numbers[label]}" for label in BAR_FIGURES
                                if numbers.get(label, MISSING) != MISSING)
            self.progress.update(self.task, completed=e["step"], total=e.get("total_steps"), metrics=figures)
        elif kind == "finished":
            self.final_status = status
            self.progress.update(self.task, description=str(status))
