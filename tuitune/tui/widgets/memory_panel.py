"""The wizard's memory panel: the planner's estimate for the form's settings, as a bar with its
breakdown, beside the planner's own plan and what corrected it (the data's lengths, past runs on
this card)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from tuitune.tui.wizard import MemoryView


class MemoryPanel(Static):
    def on_mount(self) -> None:
        self.border_title = "GPU memory (planner estimate)"

    def show(self, view: MemoryView) -> None:
        from tuitune.tui.wizard import memory_bar

        text = Text()
        if view.problem:
            text.append(view.problem, style="yellow")
        else:
            style = "bold red" if view.fits is False else "bold green"
            bar = memory_bar(view, width=max(10, min(40, (self.content_size.width or 40) - 2)))
            # Two estimates share this panel: the bar is the form's settings, the plan line the
            # planner's choice; each says which it is and what it needs.
            text.append("your settings: ", style="bold")
            text.append(f"{view.form_text}\n")
            text.append(bar.replace("] ", "]\n", 1) + "\n", style=style)  # the figures under the bar
            text.append(" · ".join(f"{k.replace('_', ' ')} {v / 2**30:.2f}" for k, v in view.breakdown.items())
                        + " GiB\n", style="dim")
            text.append("planner's plan: ", style="bold")
            needs = f", about {view.plan_peak_bytes / 2**30:.1f} GiB" if view.plan_peak_bytes else ""
            text.append(f"{view.plan_text}{needs} (ctrl+r puts it in the form)")
            for line in (view.data_note, view.calibration):
                if line:
                    text.append(f"\n{line}", style="dim")
        text.append(f"\n{view.gpu_text}", style="dim")
        self.update(text)
