"""Every key that works where help was asked for, and only those: the screen's own and the
app's, with each binding's id (to remap it) and its tooltip."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    """The keys of the screen below, in a table."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Back to where you were"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.rows = binding_rows(screen)

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static("[b]Keys[/b]   (ctrl+p: command palette; escape closes this)", id="help-title")
            yield DataTable(id="help-keys", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does", "id", "more")
        table.add_rows([tuple(Text(cell) for cell in row) for row in self.rows])  # no markup: "[export]"
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


def binding_rows(screen: Screen) -> list[tuple[str, str, str, str]]:
    """(key, description, id, tooltip) for the keys that work on ``screen`` as it is now: its
    own, then the app's, as the footer finds them (keys.toml applied; none that the focused
    field would take as typing, none an action turns off there)."""
    app = screen.app
    found: dict[tuple[bool, str], list[str]] = {}
    # Ours only (each has an id). The chain the footer reads (Screen.active_bindings merges it by key, which would hide a
    # screen's enter behind a table's): keys the focused field takes as typing are already out.
    for node, bindings in screen._modal_binding_chain:
        if node not in (screen, app):
            continue
        for key, b in bindings:
            if not b.id or not b.description or not app._check_action_state(b.action, node):
                continue
            display = app.get_key_display(Binding(key, b.action, b.description))
            row = found.setdefault((node is app, b.action), ["", b.description, b.id or "", b.tooltip])
            row[0] = f"{row[0]} / {display}" if row[0] else display
    ordered = sorted(found.items(), key=lambda item: item[0][0])  # the screen's keys first (a stable sort)
    rows = [(r[0], r[1], r[2], r[3]) for _, r in ordered]
    rows[len([k for k, _ in ordered if not k[0]]):0] = getattr(screen, "HELP_EXTRA", [])  # typed commands
    rows.append((app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, "")), "Command palette", "",
                 "Search every action, and open any run by id"))
    return rows
