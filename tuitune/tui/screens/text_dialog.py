"""A long text shown whole, wrapped and scrollable, in a modal dialog: one event of a run's log."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextDialog(ModalScreen[None]):
    """``text`` under ``title``; escape or enter closes it."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="text.close", tooltip="Back to the list")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="text-dialog") as box:
            box.border_title = self.title_text
            box.border_subtitle = "escape closes"
            yield Static(Text(self.text), id="text-dialog-body")

    def on_mount(self) -> None:
        self.query_one("#text-dialog").focus()

    def action_close(self) -> None:
        self.dismiss(None)
