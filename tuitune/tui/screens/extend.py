"""How many more steps to train a finished run (``tuitune runs extend ID --steps N``).
Dismisses with the number on enter, None on escape."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ExtendDialog(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="extend.cancel", tooltip="Leave the run as it is")]

    def __init__(self, run_id: str, step: int) -> None:
        super().__init__()
        self.run_id, self.step = run_id, step

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble(("extend ", "bold"), self.run_id, f" (at step {self.step})"), id="question")
            yield Input("", placeholder="more steps, e.g. 100", id="extend-steps", type="integer")
            yield Static("", id="extend-error")
            yield Static("enter trains this many more steps from the final weights and optimizer state, with a "
                         "fresh warmup and decay · escape cancels", id="extend-hint")

    def on_mount(self) -> None:
        self.query_one("#extend-steps", Input).focus()

    @on(Input.Submitted, "#extend-steps")
    def _submitted(self, message: Input.Submitted) -> None:
        try:
            steps = int(message.value)
        except ValueError:
            steps = 0
        if steps < 1:
            self.query_one("#extend-error", Static).update(Text("a whole number of steps, 1 or more", style="bold red"))
            return
        self.dismiss(steps)

    def action_cancel(self) -> None:
        self.dismiss(None)
