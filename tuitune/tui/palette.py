"""The command palette (ctrl+p), made safe to type into at once.

Textual's palette loses what is typed before its input has the focus (the keys reach the
screen, which ignores them), and ``enter`` picks whatever the list shows, which until the
search for the typed text has finished is the list of the *empty* query: under load, "open
run…" typed quickly ran the palette's first entry instead. Here the early keys go into the
input, and an ``enter`` that arrives while a search is still running waits for its result.
"""

from __future__ import annotations

from textual import command, events
from textual.binding import Binding
from textual.command import CommandInput
from textual.worker import Worker, WorkerState


class CommandPalette(command.CommandPalette):
    """Textual's palette (and its name, which tests look for) with no lost keys and no
    ``enter`` on a stale list."""

    BINDINGS = [Binding("enter", "submit", "Run the command", show=False, priority=True)]

    def __init__(self) -> None:
        super().__init__(id="--command-palette")
        self._submit_waiting = False

    def _searching(self) -> bool:
        return any(w.group == self._GATHER_COMMANDS_GROUP and not w.is_finished for w in self.workers)

    def on_key(self, event: events.Key) -> None:
        # Keys that reach the screen itself came before the input had the focus.
        field = self.query(CommandInput)
        if field and not field.first().has_focus and event.is_printable and event.character:
            event.stop()
            field.first().insert_text_at_cursor(event.character)
            field.first().focus()

    async def action_submit(self) -> None:
        if self._searching():
            self._submit_waiting = True
        else:
            await self._submit_now()

    async def _submit_now(self) -> None:
        self._submit_waiting = False
        field = self.query(CommandInput)
        if field:
            await field.first().action_submit()

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if (self._submit_waiting and event.worker.group == self._GATHER_COMMANDS_GROUP
                and event.state == WorkerState.SUCCESS and not self._searching()):
            await self._submit_now()
