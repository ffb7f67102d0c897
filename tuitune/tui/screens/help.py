"""Every key that works where help was asked for: the screen's own and the app's, with each
binding's id (to remap it) and its tooltip."""

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
    """(key, description, id, tooltip) for the bindings of ``screen``, then the app's."""
    app = screen.app
    found: dict[tuple[int, str], list[str]] = {}
    for n, owner in enumerate((screen, app)):
        for b in Binding.make_bindings(type(owner).BINDINGS):
            if b.description and not b.system:
                row = found.setdefault((n, b.action), ["", b.description, b.id or "", b.tooltip])
                if b.id and b.id in app._keymap:  # remapped in keys.toml: show what works now
                    b = Binding(app._keymap[b.id].split(",")[0], b.action, b.description, id=b.id, tooltip=b.tooltip)
                row[0] = f"{row[0]} / {app.get_key_display(b)}" if row[0] else app.get_key_display(b)
    rows = [(r[0], r[1], r[2], r[3]) for r in found.values()]
    rows[len([k for k in found if k[0] == 0]):0] = getattr(screen, "HELP_EXTRA", [])  # typed commands
    rows.append((app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, "")), "Command palette", "",
                 "Search every action, and open any run by id"))
    return rows
