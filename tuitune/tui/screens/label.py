"""Name a run and write a note on it (what ``tuitune runs name|note`` store in its label.json).
Dismisses with (name, note) on ctrl+s or enter in the name, None on escape."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

from tuitune.runs.label import MAX_NAME, Label, LabelError, check_name, check_note


class LabelDialog(ModalScreen[tuple[str, str] | None]):
    """The run's name (one line) and note (free text)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="label.save", tooltip="Keep the name and the note"),
        Binding("escape", "cancel", "Cancel", id="label.cancel", tooltip="Leave both as they were"),
    ]

    def __init__(self, run_id: str, label: Label) -> None:
        super().__init__()
        self.run_id, self.label = run_id, label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble(("name and note of ", "bold"), self.run_id), id="question")
            yield Input(self.label.name, placeholder=f"a name, shown beside the id (at most {MAX_NAME} characters)",
                        id="label-name", max_length=MAX_NAME)
            yield TextArea(self.label.note, id="label-note", soft_wrap=True)
            yield Static("", id="label-error")
            yield Static("ctrl+s saves (enter in the name too) · escape leaves both as they were", id="label-hint")

    def on_mount(self) -> None:
        self.query_one("#label-note").border_title = "note"
        self.query_one("#label-name", Input).focus()

    @on(Input.Submitted, "#label-name")
    def action_save(self) -> None:
        name, note = self.query_one("#label-name", Input).value, self.query_one("#label-note", TextArea).text
        try:
            self.dismiss((check_name(name), check_note(note)))
        except LabelError as e:
            self.query_one("#label-error", Static).update(Text(str(e), style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)
