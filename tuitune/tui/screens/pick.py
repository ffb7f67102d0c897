"""Choose one name from a list in a modal dialog (a saved chat to reopen); dismisses with the
name, or None on escape."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static


class PickDialog(ModalScreen["str | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel", tooltip="Choose nothing")]

    def __init__(self, question: str, names: list[str]) -> None:
        super().__init__()
        self.question, self.names = question, names

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.question), id="question")
            yield OptionList(*[Text(n) for n in self.names], id="pick-list")

    def on_mount(self) -> None:
        self.query_one("#pick-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#pick-list")
    def _picked(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(self.names[message.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
